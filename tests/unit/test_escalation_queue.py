"""The work queue's sort key and cursors."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from services.escalation.domain.queue import (
    NO_DEADLINE,
    InvalidCursor,
    QueueCursor,
    decode_cursor,
    encode_cursor,
    next_due_at,
)

pytestmark = pytest.mark.unit
NOW = datetime(2026, 12, 7, 8, 0, tzinfo=UTC)


def _clock(owner: str, hours: float, **extra: str) -> dict:
    return {"name": f"{owner}-{hours}", "clock": {"owner": owner, "due_at": (NOW + timedelta(hours=hours)).isoformat(),
                                                   **extra}}


def test_the_nearest_running_deadline_of_the_handling_side_orders_the_queue() -> None:
    entries = [_clock("complainant", 1), _clock("merchant", 5), _clock("platform", 3),
               _clock("merchant", 2, paused_at=NOW.isoformat()), _clock("merchant", 0.5, stopped_at=NOW.isoformat())]
    assert next_due_at(entries) == NOW + timedelta(hours=3)


def test_a_case_with_no_running_handling_clock_sorts_last() -> None:
    assert next_due_at([_clock("complainant", 1)]) == NO_DEADLINE and next_due_at([]) == NO_DEADLINE


def test_cursors_round_trip_and_altered_ones_are_refused() -> None:
    cursor = QueueCursor(due_at=NOW, complaint_id="a" * 32)
    assert decode_cursor(text=encode_cursor(cursor=cursor)) == cursor
    for bad in ("xyz", encode_cursor(cursor=QueueCursor(due_at=NOW, complaint_id="not-an-id"))):
        with pytest.raises(InvalidCursor):
            decode_cursor(text=bad)
