"""Opaque page cursors for complaint listings: the sort position of the last complaint shown."""

import base64
import binascii
import json
import re
from dataclasses import dataclass
from datetime import datetime

_ID = re.compile(r"^[0-9a-f]{32}$")


class InvalidCursor(ValueError):
    """The cursor was not issued by this service (or was altered)."""


@dataclass(frozen=True)
class Cursor:
    """Where the next page starts: after this filing time and complaint id (newest first)."""

    filed_at: datetime
    complaint_id: str


def encode_cursor(*, cursor: Cursor) -> str:
    """URL-safe text for a cursor; clients must treat it as opaque."""
    raw = json.dumps({"t": cursor.filed_at.isoformat(), "i": cursor.complaint_id}, separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(*, text: str) -> Cursor:
    """Parse a cursor; InvalidCursor unless it holds exactly an aware time and a complaint id."""
    try:
        data = json.loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))
        filed_at = datetime.fromisoformat(data["t"])
        complaint_id = data["i"]
    except (binascii.Error, ValueError, TypeError, KeyError, UnicodeDecodeError) as exc:
        raise InvalidCursor("not a cursor from this service") from exc
    if set(data) != {"t", "i"} or filed_at.tzinfo is None or not isinstance(complaint_id, str) \
            or not _ID.fullmatch(complaint_id):
        raise InvalidCursor("not a cursor from this service")
    return Cursor(filed_at=filed_at, complaint_id=complaint_id)
