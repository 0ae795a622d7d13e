"""The work queue's order: each case's nearest due clock of the handling side, and page cursors."""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

#: Where a case with no running handling-side clock sorts: after every real deadline.
NO_DEADLINE = datetime(9999, 12, 31, tzinfo=UTC)
_ID = re.compile(r"^[0-9a-f]{32}$")


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


class InvalidCursor(ValueError):
    """The cursor was not issued by this service (or was altered)."""


@dataclass(frozen=True)
class QueueCursor:
    """Where the next page starts: after this due time and complaint id (nearest due first)."""

    due_at: datetime
    complaint_id: str


def encode_cursor(*, cursor: QueueCursor) -> str:
    """URL-safe text for a cursor; clients must treat it as opaque."""
    raw = json.dumps({"d": cursor.due_at.isoformat(), "i": cursor.complaint_id}, separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(*, text: str) -> QueueCursor:
    """Parse a cursor; InvalidCursor unless it holds exactly an aware time and a complaint id."""
    try:
        data = json.loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))
        due_at = datetime.fromisoformat(data["d"])
        complaint_id = data["i"]
    except (binascii.Error, ValueError, TypeError, KeyError, UnicodeDecodeError) as exc:
        raise InvalidCursor("not a cursor from this service") from exc
    if set(data) != {"d", "i"} or due_at.tzinfo is None or not isinstance(complaint_id, str) \
            or not _ID.fullmatch(complaint_id):
        raise InvalidCursor("not a cursor from this service")
    return QueueCursor(due_at=due_at, complaint_id=complaint_id)
