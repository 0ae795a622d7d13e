"""Opaque page cursors: where the next page starts — after a sort time and a complaint id — as
URL-safe text that clients treat as opaque. Each listing names its time field by one letter."""

from __future__ import annotations

import base64
import binascii
import json
import re
from datetime import datetime

_ID = re.compile(r"^[0-9a-f]{32}$")


class InvalidCursor(ValueError):
    """The cursor was not issued by this service (or was altered)."""


def encode_position(*, at: datetime, complaint_id: str, key: str) -> str:
    """URL-safe text for the position after (`at`, `complaint_id`); `key` names the time field."""
    raw = json.dumps({key: at.isoformat(), "i": complaint_id}, separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_position(*, text: str, key: str) -> tuple[datetime, str]:
    """The time and complaint id a cursor holds; InvalidCursor unless it holds exactly an aware
    time under `key` and a complaint id."""
    try:
        data = json.loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))
        at = datetime.fromisoformat(data[key])
        complaint_id = data["i"]
    except (binascii.Error, ValueError, TypeError, KeyError, UnicodeDecodeError) as exc:
        raise InvalidCursor("not a cursor from this service") from exc
    if set(data) != {key, "i"} or at.tzinfo is None or not isinstance(complaint_id, str) \
            or not _ID.fullmatch(complaint_id):
        raise InvalidCursor("not a cursor from this service")
    return at, complaint_id
