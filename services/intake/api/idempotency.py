"""The Idempotency-Key header: a retry with the same key and body gets the first answer again."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Header

from services.intake.api.errors import FieldErrors
from shared import idempotency
from shared.auth import Principal
from shared.idempotency import IdempotencyKeyError, Keyed, KeyReused, StoredAnswer

IdempotencyKey = Annotated[str | None, Header(
    alias="Idempotency-Key",
    description="重试时使用同一键，得到首次的答复。Reuse on retries to get the first answer.",
)]

__all__ = ["IdempotencyKey", "Keyed", "first_answer", "keyed"]


def keyed(*, principal: Principal, header: str | None, body: Any, route: str) -> Keyed | None:
    """The key of this caller's request, or None without the header; 422 for an unusable key."""
    try:
        return idempotency.keyed(principal=principal, header=header, body=body, route=route)
    except IdempotencyKeyError as exc:
        raise FieldErrors(field="Idempotency-Key", rule="idempotency_key", en=str(exc),
                          zh="幂等键须为 1 到 255 个可见 ASCII 字符") from exc


def first_answer(request: Keyed) -> StoredAnswer | None:
    """The stored first answer to this key; 422 when the key came with another body."""
    try:
        return idempotency.first_answer(request)
    except KeyReused as exc:
        raise FieldErrors(field="Idempotency-Key", rule="idempotency_key_reused",
                          en="This Idempotency-Key was used with a different request body",
                          zh="该幂等键已用于内容不同的请求") from exc
