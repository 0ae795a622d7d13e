"""The Idempotency-Key header: a retry with the same key and body gets the first answer again."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Header

from services.intake.api.errors import FieldErrors
from services.intake.domain.idempotency import IdempotencyKeyError, check_key, fingerprint
from services.intake.service.replays import StoredAnswer, find_answer, key_id
from shared.auth import Principal

IdempotencyKey = Annotated[str | None, Header(
    alias="Idempotency-Key",
    description="重试时使用同一键，得到首次的答复。Reuse on retries to get the first answer.",
)]


@dataclass(frozen=True)
class Keyed:
    """A request under an Idempotency-Key: where its answer is stored and what its body was."""

    key: str
    fingerprint: str


def keyed(*, principal: Principal, header: str | None, body: Any, route: str) -> Keyed | None:
    """The key of this caller's request, or None without the header; 422 for an unusable key."""
    if header is None:
        return None
    try:
        check_key(key=header)
    except IdempotencyKeyError as exc:
        raise FieldErrors(field="Idempotency-Key", rule="idempotency_key", en=str(exc),
                          zh="幂等键须为 1 到 255 个可见 ASCII 字符") from exc
    caller = f"{principal.role}:{principal.platform}:{principal.subject}"
    return Keyed(key=key_id(caller=caller, key=header), fingerprint=fingerprint(body=body, route=route))


def first_answer(request: Keyed) -> StoredAnswer | None:
    """The stored first answer to this key; 422 when the key came with another body."""
    stored = find_answer(key=request.key)
    if stored is not None and stored.fingerprint != request.fingerprint:
        raise FieldErrors(field="Idempotency-Key", rule="idempotency_key_reused",
                          en="This Idempotency-Key was used with a different request body",
                          zh="该幂等键已用于内容不同的请求")
    return stored
