"""Opaque page cursors for complaint listings: the sort position of the last complaint shown."""

from dataclasses import dataclass
from datetime import datetime

from shared.paging import InvalidCursor, decode_position, encode_position

__all__ = ["Cursor", "InvalidCursor", "decode_cursor", "encode_cursor"]


@dataclass(frozen=True)
class Cursor:
    """Where the next page starts: after this filing time and complaint id (newest first)."""

    filed_at: datetime
    complaint_id: str


def encode_cursor(*, cursor: Cursor) -> str:
    """URL-safe text for a cursor; clients must treat it as opaque."""
    return encode_position(at=cursor.filed_at, complaint_id=cursor.complaint_id, key="t")


def decode_cursor(*, text: str) -> Cursor:
    """Parse a cursor; InvalidCursor unless it holds exactly an aware time and a complaint id."""
    filed_at, complaint_id = decode_position(text=text, key="t")
    return Cursor(filed_at=filed_at, complaint_id=complaint_id)
