"""A poll larger than one shared transaction, on the real store: applied as several, each one's
handlers running while the one before commits and its reads while the one before runs its handlers,
each committing once the one before has;
every message applied once, in order per complaint, and a failing group applied one by one without
holding the others back."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Iterator

import pytest
from faststream.kafka import KafkaBroker

from shared import store
from shared.bus import Consumer
from shared.contracts.escalation import ComplaintStatusChanged
from shared.ledger import ProcessedEvent, apply_once
from shared.outbox import OutboxEntry, emit
from shared.settings import ServiceSettings
from shared.store import UnitOfWork
from tests.support.outbox import outbox_records
from tests.support.samples import status_change
from tests.support.servers import Servers, own_database

pytestmark = pytest.mark.integration


@pytest.fixture
def db(servers: Servers, namespace: str) -> Iterator[None]:
    with own_database(servers, f"{namespace}_overlap", OutboxEntry, ProcessedEvent):
        yield


def reader(*, group_max: int, before: Callable[[ComplaintStatusChanged, UnitOfWork], None] = lambda e, u: None,
           prepare: Callable[[list, UnitOfWork], None] | None = None, move_cases: bool = True) -> Consumer:
    """A consumer moving a case document per change (unless not `move_cases`) and emitting one message,
    in groups of `group_max`; `before(event, uow)` runs first in each handler, `prepare` reads ahead
    for each group."""

    def work(tx: UnitOfWork, event: ComplaintStatusChanged) -> None:
        if move_cases:
            tx.db["cases"].update_one({"_id": event.complaint_id}, {"$push": {"states": event.to_state}},
                                      upsert=True, session=tx.session)
        emit(tx, topic="out", messages=[event])

    async def handle(event: ComplaintStatusChanged, uow: UnitOfWork) -> None:
        before(event, uow)
        await asyncio.to_thread(apply_once, uow, consumer="test", event=event, work=lambda tx: work(tx, event))

    return Consumer(broker=KafkaBroker("127.0.0.1:1"), settings=ServiceSettings(consume_group_max=group_max),
                    topic="in", handlers={ComplaintStatusChanged: handle}, ready=lambda: True, prepare=prepare)


def records(events: list[ComplaintStatusChanged]) -> list:
    return [(e.encode(), {}, None) for e in events]


def cases() -> dict[str, list[str]]:
    return {d["_id"]: d["states"] for d in store.database()["cases"].find()}


def test_the_next_group_runs_its_handlers_while_the_one_before_commits(db: None) -> None:
    # Group one's commit waits (up to 10 s) for group two's first handler: only overlap lets it start.
    second_started = threading.Event()
    overlapped: list[bool] = []

    def before(event: ComplaintStatusChanged, uow: UnitOfWork) -> None:
        if event.complaint_id == "c-0":
            uow.after_commit.append(lambda: overlapped.append(second_started.wait(10)))
        if event.complaint_id == "c-4":
            second_started.set()

    consumer = reader(group_max=4, before=before)
    asyncio.run(consumer.dispatch_batch(records([status_change(i, "acknowledged") for i in range(8)])))

    assert overlapped == [True]
    assert cases() == {f"c-{i}": ["acknowledged"] for i in range(8)}
    assert consumer.stats()["shared_transactions"] == 2
    assert ProcessedEvent.objects.count() == len(outbox_records()) == 8 and OutboxEntry.objects.count() == 2


def test_the_next_group_commits_only_once_the_one_before_has_committed(
        db: None, monkeypatch: pytest.MonkeyPatch) -> None:
    # Group one's commit waits (up to 1 s) for group two's to start: it must not, until group one's ends.
    # (The handlers write nothing before their commit: a write of group two's meeting group one's
    # open transaction would hold group two back by itself.)
    commit = UnitOfWork.commit
    order: list[str] = []
    second_began = threading.Event()

    def commit_in_view(self: UnitOfWork) -> None:
        name = "one" if not order else "two"
        order.append(f"{name} begins")
        if name == "one":
            second_began.wait(1)
        else:
            second_began.set()
        commit(self)
        order.append(f"{name} ends")

    monkeypatch.setattr(UnitOfWork, "commit", commit_in_view)
    events = [status_change(i, "acknowledged") for i in range(8)]
    consumer = reader(group_max=4, move_cases=False)
    asyncio.run(consumer.dispatch_batch(records(events)))

    assert order == ["one begins", "one ends", "two begins", "two ends"]
    assert [r.id for r in outbox_records()] == [e.event_id for e in events]
    assert consumer.stats()["shared_transactions"] == 2


def test_the_next_group_reads_ahead_while_the_one_before_runs_its_handlers_and_handles_only_after_it(
        db: None) -> None:
    # Group one's last handler waits (up to 5 s) for group two's read-ahead: only reading ahead
    # while group one handles lets it come (it used to start once group one had handled).
    group_two_read = threading.Event()
    seen: list[str] = []

    def prepare(events: list, uow: UnitOfWork) -> None:
        uow.read_ahead_ids(ProcessedEvent, [e.event_id for e in events])  # a read in the group's transaction
        if events[0].complaint_id == "c-4":
            group_two_read.set()

    def before(event: ComplaintStatusChanged, uow: UnitOfWork) -> None:
        seen.append(event.complaint_id)
        if event.complaint_id == "c-3":
            seen.append(f"group two read ahead: {group_two_read.wait(5)}")

    consumer = reader(group_max=4, before=before, prepare=prepare)
    asyncio.run(consumer.dispatch_batch(records([status_change(i, "acknowledged") for i in range(8)])))

    turn = seen.index("group two read ahead: True")
    assert seen[:turn] == ["c-0", "c-1", "c-2", "c-3"]
    # Group two's handlers only once group one's have run (a write conflict with group one's commit,
    # its transaction having begun before that commit, may run them again: the group is retried).
    assert set(seen[turn + 1:]) == {"c-4", "c-5", "c-6", "c-7"}
    assert cases() == {f"c-{i}": ["acknowledged"] for i in range(8)}
    assert consumer.stats()["shared_transactions"] == 2


def test_each_complaint_keeps_its_order_when_its_round_is_split_into_groups(db: None) -> None:
    # 20 complaints, five of them changed three times in the poll: rounds of 20, 5 and 5 messages.
    events = [status_change(i, "acknowledged") for i in range(20)]
    events += [status_change(i, "in_progress") for i in range(5)] + [status_change(i, "resolved") for i in range(5)]
    events.sort(key=lambda e: int(e.complaint_id[2:]))
    consumer = reader(group_max=4)
    asyncio.run(consumer.dispatch_batch(records(events)))

    moved = cases()
    assert all(moved[f"c-{i}"] == ["acknowledged", "in_progress", "resolved"] for i in range(5))
    assert all(moved[f"c-{i}"] == ["acknowledged"] for i in range(5, 20))
    assert consumer.processed == 30
    # 20 as five groups of four; each 5 as a group of four and one message applied alone.
    assert consumer.stats()["shared_transactions"] == 5 + 1 + 1
    assert ProcessedEvent.objects.count() == len(outbox_records()) == 30
    assert OutboxEntry.objects.count() == 7 + 2  # an entry per shared transaction and per message alone


def test_a_group_that_fails_is_applied_one_by_one_and_the_others_still_commit_together(db: None) -> None:
    applied = status_change(5, "acknowledged")
    asyncio.run(reader(group_max=4).dispatch_batch(records([applied])))
    # c-5's change delivered again, in the second group of the next poll.
    poll = [status_change(i) for i in range(5)] + [applied] + [status_change(i) for i in (6, 7)]
    consumer = reader(group_max=4)
    asyncio.run(consumer.dispatch_batch(records(poll)))

    assert cases() == {f"c-{i}": ["acknowledged"] for i in range(8)}
    stats = consumer.stats()
    assert (stats["shared_transactions"], stats["shared_transactions_undone"]) == (1, 1)
    assert consumer.processed == 7  # the repeat is not applied again
    assert ProcessedEvent.objects.count() == 8
