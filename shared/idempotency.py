"""Idempotency-Key: fingerprints of request bodies and the stored first answers that retries get.

Each service keeps its answers in its own database (collection idempotent_responses, expiring after
a day); the answer is written in the same transaction as the change it reports."""

import hashlib
import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from mongoengine import DateTimeField, Document, IntField, StringField
from pydantic import BaseModel

from shared.auth import Principal
from shared.envelope import utcnow
from shared.store import UnitOfWork

KEY_PATTERN = re.compile(r"[\x21-\x7e]{1,255}")


class IdempotencyKeyError(ValueError):
    """The Idempotency-Key header value is unusable."""


class KeyReused(ValueError):
    """The key came back with another request body (or for another route)."""


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


def key_id(*, caller: str, key: str) -> str:
    """Keys are scoped to the caller, so two callers never share a key by accident."""
    return hashlib.sha256(f"{caller}\x1f{key}".encode()).hexdigest()


class IdempotentResponse(Document):
    """The first answer to a POST with an Idempotency-Key, replayed to retries for a day."""

    meta = {
        "collection": "idempotent_responses",
        "indexes": [{"fields": ["created_at"], "expireAfterSeconds": 86_400}],
    }

    id = StringField(primary_key=True)
    fingerprint = StringField(required=True)
    status_code = IntField(required=True)
    body = StringField(required=True)
    created_at = DateTimeField(required=True)


@dataclass(frozen=True)
class StoredAnswer:
    """A stored first answer."""

    fingerprint: str
    status_code: int
    body: dict[str, Any]


def find_answer(*, key: str) -> StoredAnswer | None:
    """The answer stored under a key id, or None."""
    found = IdempotentResponse.objects(id=key).first()
    if found is None:
        return None
    return StoredAnswer(fingerprint=found.fingerprint, status_code=found.status_code, body=json.loads(found.body))


def store_answer(tx: UnitOfWork, *, key: str, fingerprint: str, status_code: int, body: dict[str, Any]) -> None:
    """Keep the answer under the key, inside the transaction of the change it reports."""
    tx.insert(IdempotentResponse(id=key, fingerprint=fingerprint, status_code=status_code,
                                 body=json.dumps(body, ensure_ascii=False, default=str), created_at=utcnow()))


@dataclass(frozen=True)
class Keyed:
    """A request under an Idempotency-Key: where its answer is stored and what its body was."""

    key: str
    fingerprint: str


def keyed(*, principal: Principal, header: str | None, body: Any, route: str) -> Keyed | None:
    """The key of this caller's request, or None without the header; IdempotencyKeyError if unusable."""
    if header is None:
        return None
    check_key(key=header)
    caller = f"{principal.role}:{principal.platform}:{principal.subject}"
    return Keyed(key=key_id(caller=caller, key=header), fingerprint=fingerprint(body=body, route=route))


def first_answer(request: Keyed) -> StoredAnswer | None:
    """The stored first answer to this key; KeyReused when the key came with another body."""
    stored = find_answer(key=request.key)
    if stored is not None and stored.fingerprint != request.fingerprint:
        raise KeyReused("This Idempotency-Key was used with a different request")
    return stored
