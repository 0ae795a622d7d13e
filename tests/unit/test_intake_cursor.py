"""Page cursors: round-trip exactly, and anything not issued by intake is refused."""

import base64
import json
from datetime import UTC, datetime

import pytest

from services.intake.domain.cursor import Cursor, InvalidCursor, decode_cursor, encode_cursor

pytestmark = pytest.mark.unit

AT = datetime(2026, 11, 23, 2, 0, 0, 123000, tzinfo=UTC)


def test_a_cursor_round_trips():
    cursor = Cursor(filed_at=AT, complaint_id="0" * 31 + "a")
    assert decode_cursor(text=encode_cursor(cursor=cursor)) == cursor


@pytest.mark.parametrize("payload", [
    {"t": AT.isoformat(), "i": {"$gt": ""}},
    {"t": AT.isoformat(), "i": "0" * 32, "$where": "1"},
    {"t": "2026-11-23T02:00:00", "i": "0" * 32},
    {"t": AT.isoformat()},
], ids=["operator-id", "extra-key", "naive-time", "missing-id"])
def test_forged_cursors_are_refused(payload):
    text = base64.urlsafe_b64encode(json.dumps(payload).encode()).decode()
    with pytest.raises(InvalidCursor):
        decode_cursor(text=text)


@pytest.mark.parametrize("text", ["", "not base64!", "bnVsbA", "W10"], ids=["empty", "garbage", "null", "list"])
def test_garbage_is_refused(text):
    with pytest.raises(InvalidCursor):
        decode_cursor(text=text)
