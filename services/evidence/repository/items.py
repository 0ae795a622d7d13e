"""Evidence items in the store."""

from __future__ import annotations

from typing import Any

from services.evidence.models import EvidenceItem
from shared.store import UnitOfWork


def get_item(*, complaint_id: str, item_id: str) -> EvidenceItem | None:
    """A complaint's item by id, or None."""
    return EvidenceItem.objects(id=item_id, complaint_id=complaint_id).first()


def get_item_by_content(*, complaint_id: str, sha256: str) -> EvidenceItem | None:
    """The complaint's item holding this content, or None."""
    return EvidenceItem.objects(complaint_id=complaint_id, sha256=sha256).first()


def get_new_item(*, item_id: str) -> EvidenceItem:
    """An item just written (it must be there)."""
    return EvidenceItem.objects.get(id=item_id)


def list_items(*, complaint_id: str) -> list[EvidenceItem]:
    """A complaint's items by number."""
    return list(EvidenceItem.objects(complaint_id=complaint_id).order_by("number"))


def create_item(tx: UnitOfWork, *, item: EvidenceItem) -> None:
    """Insert a new item now (a taken content or number raises DuplicateKey here)."""
    tx.insert(item)


def get_item_doc(tx: UnitOfWork, *, item_id: str) -> dict[str, Any] | None:
    """The raw item as `tx` sees it, or None."""
    return tx.collection(EvidenceItem).find_one({"_id": item_id}, session=tx.session)


def list_item_docs(tx: UnitOfWork, *, complaint_id: str) -> list[dict[str, Any]]:
    """A complaint's raw items as `tx` sees them, in stored order."""
    return list(tx.collection(EvidenceItem).find({"complaint_id": complaint_id}, session=tx.session))


def list_proofs_naming(tx: UnitOfWork, *, kind: str, transaction_id: str) -> list[dict[str, Any]]:
    """The raw items of a kind whose structured fields name this transaction."""
    return list(tx.collection(EvidenceItem).find(
        {"kind": kind, "structured.transaction_id": transaction_id}, session=tx.session))


def update_channel_check(tx: UnitOfWork, *, item_id: str, check: dict[str, Any]) -> None:
    """Store what the payment channel's record said of an item."""
    tx.collection(EvidenceItem).update_one({"_id": item_id}, {"$set": {"channel_check": check}},
                                           session=tx.session)


def update_card_key_check(tx: UnitOfWork, *, item_id: str, check: dict[str, Any]) -> None:
    """Store the latest card-key check of an item (the key's last 4 only)."""
    tx.collection(EvidenceItem).update_one({"_id": item_id}, {"$set": {"card_key_check": check}},
                                           session=tx.session)
