"""The custody log: a hash chain that names any edited, unlinked, moved or missing entry."""

from datetime import UTC, datetime, timedelta

import pytest

from services.evidence.domain.custody import GENESIS_HASH, CustodyAction, CustodyEntry, append, verify_chain

pytestmark = pytest.mark.unit

T0 = datetime(2024, 5, 1, 2, 0, 0, 123456, tzinfo=UTC)


def _log(n: int = 4) -> list[CustodyEntry]:
    actions = ["uploaded", "viewed", "downloaded", "verified", "exported"]
    entries: list[CustodyEntry] = []
    for i in range(n):
        entries.append(append(previous=entries[-1] if entries else None, item_id="ev-1",
                              action=actions[i % 5], actor=f"agent-{i}",
                              at=T0 + timedelta(minutes=i), details={"ip": "10.0.0.1"}))
    return entries


def test_a_fresh_chain_is_intact_and_linked():
    entries = _log()
    assert verify_chain(entries=entries) == []
    assert entries[0].prev_hash == GENESIS_HASH
    assert [e.sequence for e in entries] == [1, 2, 3, 4]
    assert entries[1].prev_hash == entries[0].entry_hash


def test_chain_survives_a_store_round_trip_at_millisecond_precision():
    entries = _log()
    reloaded = [CustodyEntry.model_validate(e.model_dump(mode="json")) for e in entries]
    assert verify_chain(entries=reloaded) == []
    assert entries[0].at.microsecond == 123000


def test_an_edited_entry_is_named():
    entries = _log()
    entries[1] = entries[1].model_copy(update={"actor": "someone-else"})
    problems = verify_chain(entries=entries)
    assert [(p.sequence, p.problem) for p in problems] == [(2, "edited")]


def test_an_edit_with_a_recomputed_hash_breaks_the_next_link():
    entries = _log()
    forged = append(previous=entries[0], item_id="ev-1", action=CustodyAction.VIEWED,
                    actor="forger", at=entries[1].at)
    entries[1] = forged
    problems = verify_chain(entries=entries)
    assert [(p.sequence, p.problem) for p in problems] == [(3, "broken_link")]


def test_a_removed_entry_is_named():
    entries = _log()
    del entries[1]
    problems = {(p.sequence, p.problem) for p in verify_chain(entries=entries)}
    assert (3, "out_of_order") in problems and (3, "broken_link") in problems


def test_reordered_entries_are_named():
    entries = _log()
    entries[1], entries[2] = entries[2], entries[1]
    problems = {(p.sequence, p.problem) for p in verify_chain(entries=entries)}
    assert {(3, "out_of_order"), (2, "out_of_order")} <= problems


def test_entries_cut_off_the_end_need_the_recorded_head():
    entries = _log()
    head = entries[-1].entry_hash
    problems = verify_chain(entries=entries[:-1], expected_head=head)
    assert [(p.sequence, p.problem) for p in problems] == [(3, "head_mismatch")]
    assert verify_chain(entries=entries, expected_head=head) == []


def test_unknown_action_and_naive_time_are_refused():
    with pytest.raises(ValueError):
        append(previous=None, item_id="ev-1", action="deleted", actor="a", at=T0)
    with pytest.raises(ValueError, match="timezone"):
        append(previous=None, item_id="ev-1", action="uploaded", actor="a",
               at=datetime(2024, 5, 1))


def test_an_empty_log_is_a_problem():
    assert verify_chain(entries=[])[0].problem == "empty"
