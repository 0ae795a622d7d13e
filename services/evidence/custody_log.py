"""Custody logs in the store: append entries inside a transaction and read chains back."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from pymongo.errors import OperationFailure

from services.evidence.domain.custody import CustodyAction, CustodyEntry, append
from services.evidence.models import CustodyRecord, EvidenceItem
from shared.auth import Principal
from shared.envelope import utcnow
from shared.store import UnitOfWork, database

_CONFLICT = 112  # WriteConflict: with_transaction retries it as a transient error


def actor_of(*, principal: Principal) -> str:
    """How a caller is named in custody logs: role and subject."""
    return f"{principal.role.value}:{principal.subject}"


def _record(entry: CustodyEntry) -> dict[str, Any]:
    return {"item_id": entry.item_id, "sequence": entry.sequence, "action": entry.action.value,
            "actor": entry.actor, "at": entry.at, "details": entry.details,
            "prev_hash": entry.prev_hash, "entry_hash": entry.entry_hash}


def _entry(doc: Mapping[str, Any]) -> CustodyEntry:
    return CustodyEntry(sequence=doc["sequence"], item_id=doc["item_id"], action=doc["action"],
                        actor=doc["actor"], at=doc["at"], details=doc.get("details") or {},
                        prev_hash=doc["prev_hash"], entry_hash=doc["entry_hash"])


def start_chain(tx: UnitOfWork, *, item_id: str, actor: str, details: Mapping[str, Any]) -> str:
    """Write the 'uploaded' entry of a new item and return its hash (the first head)."""
    first = append(previous=None, item_id=item_id, action=CustodyAction.UPLOADED, actor=actor,
                   at=utcnow(), details=details)
    tx.collection(CustodyRecord).insert_one(_record(first), session=tx.session)
    return first.entry_hash


def append_to_chains(tx: UnitOfWork, *, item_ids: Iterable[str], action: CustodyAction, actor: str,
                     details: Mapping[str, Any] | None = None) -> None:
    """Append one entry to each item's chain, linking to the last stored entry."""
    records, items = tx.collection(CustodyRecord), tx.collection(EvidenceItem)
    at = utcnow()
    for item_id in item_ids:
        last = records.find_one({"item_id": item_id}, sort=[("sequence", -1)],
                                session=tx.session)
        previous = _entry(last) if last else None
        entry = append(previous=previous, item_id=item_id, action=action, actor=actor, at=at,
                       details=details)
        records.insert_one(_record(entry), session=tx.session)
        moved = items.update_one({"_id": item_id}, {"$set": {"custody_head": entry.entry_hash}},
                                 session=tx.session)
        if moved.matched_count != 1:
            raise OperationFailure(f"evidence item {item_id} vanished", code=_CONFLICT)


def list_chain(*, item_id: str) -> list[CustodyEntry]:
    """An item's custody entries in stored order (by sequence)."""
    docs = database()[CustodyRecord._get_collection_name()].find(
        {"item_id": item_id}).sort("sequence", 1)
    return [_entry(doc) for doc in docs]


def describe(*, entries: Iterable[CustodyEntry]) -> list[dict[str, Any]]:
    """Entries as plain JSON-ready dicts."""
    return [entry.model_dump(mode="json") for entry in entries]
