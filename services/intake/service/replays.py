"""Idempotency-Key replays: the first answer to a POST is stored with the filing and given again."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from shared.idempotency import StoredAnswer, store_answer
from shared.store import UnitOfWork

__all__ = ["StoredAnswer", "answer_recorder"]


def answer_recorder(*, key: str, fingerprint: str,
                    render: Callable[[Any], tuple[int, dict[str, Any]]]) -> Callable[[UnitOfWork, Any], None]:
    """An Answer storing the rendered response under the key in the change's own transaction."""

    def record(tx: UnitOfWork, outcome: Any) -> None:
        status_code, body = render(outcome)
        store_answer(tx, key=key, fingerprint=fingerprint, status_code=status_code, body=body)

    return record
