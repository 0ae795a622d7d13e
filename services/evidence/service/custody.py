"""Custody logs: start an item's chain, append to chains inside a transaction, read chains back."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from services.evidence.domain.custody import CustodyAction, CustodyEntry, append
from services.evidence.repository import custody
from shared.auth import Principal
from shared.envelope import utcnow
from shared.store import UnitOfWork


def actor_of(*, principal: Principal) -> str:
    """How a caller is named in custody logs: role and subject."""
    return f"{principal.role.value}:{principal.subject}"


def start_chain(tx: UnitOfWork, *, item_id: str, actor: str, details: Mapping[str, Any]) -> str:
    """Write the 'uploaded' entry of a new item and return its hash (the first head)."""
    first = append(previous=None, item_id=item_id, action=CustodyAction.UPLOADED, actor=actor,
                   at=utcnow(), details=details)
    custody.create_entry(tx, entry=first)
    return first.entry_hash


def append_to_chains(tx: UnitOfWork, *, item_ids: Iterable[str], action: CustodyAction, actor: str,
                     details: Mapping[str, Any] | None = None) -> None:
    """Append one entry to each item's chain, linking to the last stored entry."""
    at = utcnow()
    for item_id in item_ids:
        previous = custody.get_last_entry(tx, item_id=item_id)
        entry = append(previous=previous, item_id=item_id, action=action, actor=actor, at=at,
                       details=details)
        custody.create_entry(tx, entry=entry)
        custody.update_head(tx, item_id=item_id, entry_hash=entry.entry_hash)


def list_chain(*, item_id: str) -> list[CustodyEntry]:
    """An item's custody entries in stored order (by sequence)."""
    return custody.list_entries(item_id=item_id)


def describe(*, entries: Iterable[CustodyEntry]) -> list[dict[str, Any]]:
    """Entries as plain JSON-ready dicts."""
    return [entry.model_dump(mode="json") for entry in entries]
