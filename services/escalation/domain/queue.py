"""The work queue's order: each case's nearest due clock of the handling side, and page cursors."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from shared.paging import InvalidCursor, decode_position, encode_position

__all__ = ["NO_DEADLINE", "InvalidCursor", "QueueCursor", "decode_cursor", "encode_cursor", "next_due_at"]

#: Where a case with no running handling-side clock sorts: after every real deadline.
NO_DEADLINE = datetime(9999, 12, 31, tzinfo=UTC)


def next_due_at(entries: Iterable[Mapping[str, Any]]) -> datetime:
    """The earliest due time among the running clocks the handling side owns (the complainant's own
    windows and paused or stopped clocks left out); NO_DEADLINE when none runs."""
    dues = []
    for entry in entries:
        clock = entry.get("clock", {})
        if clock.get("owner") == "complainant" or clock.get("stopped_at") or clock.get("paused_at"):
            continue
        due = clock.get("due_at")
        if due is not None:
            due = datetime.fromisoformat(due) if isinstance(due, str) else due
            dues.append(due if due.tzinfo else due.replace(tzinfo=UTC))
    return min(dues, default=NO_DEADLINE)


@dataclass(frozen=True)
class QueueCursor:
    """Where the next page starts: after this due time and complaint id (nearest due first)."""

    due_at: datetime
    complaint_id: str


def encode_cursor(*, cursor: QueueCursor) -> str:
    """URL-safe text for a cursor; clients must treat it as opaque."""
    return encode_position(at=cursor.due_at, complaint_id=cursor.complaint_id, key="d")


def decode_cursor(*, text: str) -> QueueCursor:
    """Parse a cursor; InvalidCursor unless it holds exactly an aware time and a complaint id."""
    due_at, complaint_id = decode_position(text=text, key="d")
    return QueueCursor(due_at=due_at, complaint_id=complaint_id)
