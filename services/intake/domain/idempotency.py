"""Canonical fingerprints of request bodies, to tell an Idempotency-Key retry from a different request."""

import hashlib
import json
import re
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel

KEY_PATTERN = re.compile(r"[\x21-\x7e]{1,255}")


class IdempotencyKeyError(ValueError):
    """The Idempotency-Key header value is unusable."""


def check_key(*, key: str) -> str:
    """Return the key if it is 1-255 visible ASCII characters; IdempotencyKeyError otherwise."""
    if not isinstance(key, str) or not KEY_PATTERN.fullmatch(key):
        raise IdempotencyKeyError("Idempotency-Key must be 1 to 255 visible ASCII characters")
    return key


def _plain(value: Any) -> Any:
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise TypeError("naive datetimes cannot be fingerprinted")
        return value.astimezone(UTC).isoformat()
    raise TypeError(f"cannot fingerprint a {type(value).__name__}")


def canonical_json(*, body: Any) -> bytes:
    """Encode a JSON-compatible body (or pydantic model) with sorted keys and no insignificant spaces."""
    if isinstance(body, bytes | bytearray | str):
        body = json.loads(body)
    if isinstance(body, BaseModel):
        body = body.model_dump(mode="json")
    return json.dumps(
        _normalise(body), sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False,
        default=_plain,
    ).encode("utf-8")


def _normalise(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _normalise(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_normalise(v) for v in value]
    if isinstance(value, float) and value.is_integer():
        # 1.0 and 1 must not differ only because one client re-encoded a number.
        return int(value)
    return value


def fingerprint(*, body: Any, route: str = "") -> str:
    """SHA-256 hex of the canonical body, salted with the route so keys cannot cross endpoints."""
    digest = hashlib.sha256(route.encode("utf-8") + b"\n")
    digest.update(canonical_json(body=body))
    return digest.hexdigest()


def same_request(*, stored_fingerprint: str, body: Any, route: str = "") -> bool:
    """Tell whether `body` is the request first stored under the key (else answer 422)."""
    return stored_fingerprint == fingerprint(body=body, route=route)
