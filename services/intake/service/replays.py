"""Idempotency-Key replays: the first answer to a POST is stored with the filing and given again."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from services.intake.models import IdempotentResponse
from services.intake.service.filing import Answer
from shared.envelope import utcnow
from shared.store import Tx


@dataclass(frozen=True)
class StoredAnswer:
    """A stored first answer."""

    fingerprint: str
    status_code: int
    body: dict[str, Any]


def key_id(*, caller: str, key: str) -> str:
    """Keys are scoped to the caller, so two callers never share a key by accident."""
    return hashlib.sha256(f"{caller}\x1f{key}".encode()).hexdigest()


def find_answer(*, key: str) -> StoredAnswer | None:
    """The answer stored under a key id, or None."""
    found = IdempotentResponse.objects(id=key).first()
    if found is None:
        return None
    return StoredAnswer(fingerprint=found.fingerprint, status_code=found.status_code, body=json.loads(found.body))


def answer_recorder(*, key: str, fingerprint: str, render: Callable[[Any], tuple[int, dict[str, Any]]]) -> Answer:
    """An Answer storing the rendered response under the key in the change's own transaction."""

    def record(tx: Tx, outcome: Any) -> None:
        status_code, body = render(outcome)
        tx.insert(IdempotentResponse(id=key, fingerprint=fingerprint, status_code=status_code,
                                     body=json.dumps(body, ensure_ascii=False), created_at=utcnow()))

    return record
