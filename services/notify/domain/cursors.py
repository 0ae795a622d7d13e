"""Opaque paging cursors: the time and id of the last item a page showed."""

import base64
import binascii
from datetime import UTC, datetime


class BadCursor(ValueError):
    """A cursor this service did not give out."""


def encode_cursor(*, moment: datetime, item_id: str) -> str:
    """A cursor after the item with this time and id."""
    text = f"{moment.astimezone(UTC).isoformat()}|{item_id}"
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, str]:
    """The time (UTC) and id a cursor names, or BadCursor."""
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        moment, bar, item_id = text.partition("|")
        parsed = datetime.fromisoformat(moment)
    except (binascii.Error, UnicodeDecodeError, ValueError) as exc:
        raise BadCursor(cursor) from exc
    if not bar or not item_id or parsed.tzinfo is None:
        raise BadCursor(cursor)
    return parsed, item_id


def utc(moment: datetime) -> datetime:
    """A stored time as aware UTC (the driver may hand back naive UTC)."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
