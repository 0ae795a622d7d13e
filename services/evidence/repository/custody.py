"""The custody log in the store: entries of each item's hash chain, and the chain's head on the item."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pymongo.errors import OperationFailure

from services.evidence.domain.custody import CustodyEntry
from services.evidence.models import CustodyRecord, EvidenceItem
from shared.store import UnitOfWork, database

_CONFLICT = 112  # WriteConflict: with_transaction retries it as a transient error


def _record(entry: CustodyEntry) -> dict[str, Any]:
    return {"item_id": entry.item_id, "sequence": entry.sequence, "action": entry.action.value,
            "actor": entry.actor, "at": entry.at, "details": entry.details,
            "prev_hash": entry.prev_hash, "entry_hash": entry.entry_hash}


def _entry(doc: Mapping[str, Any]) -> CustodyEntry:
    return CustodyEntry(sequence=doc["sequence"], item_id=doc["item_id"], action=doc["action"],
                        actor=doc["actor"], at=doc["at"], details=doc.get("details") or {},
                        prev_hash=doc["prev_hash"], entry_hash=doc["entry_hash"])


def create_entry(tx: UnitOfWork, *, entry: CustodyEntry) -> None:
    """Insert one entry of a chain."""
    tx.collection(CustodyRecord).insert_one(_record(entry), session=tx.session)


def get_last_entry(tx: UnitOfWork, *, item_id: str) -> CustodyEntry | None:
    """The last stored entry of an item's chain, or None."""
    last = tx.collection(CustodyRecord).find_one({"item_id": item_id}, sort=[("sequence", -1)],
                                                 session=tx.session)
    return _entry(last) if last else None


def update_head(tx: UnitOfWork, *, item_id: str, entry_hash: str) -> None:
    """Point the item at its chain's new head; an item gone meanwhile is a write conflict (retried)."""
    moved = tx.collection(EvidenceItem).update_one({"_id": item_id}, {"$set": {"custody_head": entry_hash}},
                                                   session=tx.session)
    if moved.matched_count != 1:
        raise OperationFailure(f"evidence item {item_id} vanished", code=_CONFLICT)


def list_entries(*, item_id: str) -> list[CustodyEntry]:
    """An item's custody entries in stored order (by sequence)."""
    docs = database()[CustodyRecord._get_collection_name()].find(
        {"item_id": item_id}).sort("sequence", 1)
    return [_entry(doc) for doc in docs]
