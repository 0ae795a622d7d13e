"""Request fingerprints: the same body in any key order or spacing matches, a changed body does not."""

from datetime import UTC, datetime

import pytest

from shared.idempotency import IdempotencyKeyError, check_key, fingerprint, same_request

pytestmark = pytest.mark.unit

BODY = {"order": {"number": "KM1", "amount": 9800}, "description": {"what_happened": "卡密无效 😡"}}


def test_key_order_and_whitespace_do_not_matter():
    raw = '{ "description": {"what_happened": "卡密无效 😡"},\n "order": {"amount": 9800, "number": "KM1"} }'
    assert fingerprint(body=BODY) == fingerprint(body=raw) == fingerprint(body=raw.encode("utf-8"))


def test_changed_body_or_route_does_not_match():
    changed = {**BODY, "order": {"number": "KM1", "amount": 9801}}
    assert not same_request(stored_fingerprint=fingerprint(body=BODY), body=changed)
    assert fingerprint(body=BODY, route="POST /v1/complaints") != fingerprint(body=BODY, route="POST /v1/x")


def test_integral_floats_match_integers_and_datetimes_are_utc():
    assert fingerprint(body={"a": 1.0}) == fingerprint(body={"a": 1})
    instant = datetime(2026, 11, 20, 13, 15, tzinfo=UTC)
    assert fingerprint(body={"at": instant}) == fingerprint(body={"at": "2026-11-20T13:15:00+00:00"})


def test_idempotency_key_must_be_visible_ascii():
    assert check_key(key="3f1c-retry-1") == "3f1c-retry-1"
    for bad in ("", "a b", "键", "x" * 256):
        with pytest.raises(IdempotencyKeyError):
            check_key(key=bad)
