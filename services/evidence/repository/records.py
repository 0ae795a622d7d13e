"""Payment records from channels and encrypted card keys in the store."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from services.evidence.models import PaymentRecordDoc, StoredCardKey
from shared.store import UnitOfWork


def get_payment_record(tx: UnitOfWork, *, transaction_id: str) -> dict[str, Any] | None:
    """The stored record of a transaction (`record` holds what the channel said), or None."""
    return tx.collection(PaymentRecordDoc).find_one({"transaction_id": transaction_id},  # type: ignore[no-any-return]
                                                    session=tx.session)


def list_records_for_order(tx: UnitOfWork, *, transaction_id: str | None,
                           order_number: str) -> list[dict[str, Any]]:
    """Stored records of a transaction id, or (without one) naming this order number."""
    query = ({"transaction_id": transaction_id} if transaction_id
             else {"record.order_number": order_number})
    return list(tx.collection(PaymentRecordDoc).find(query, session=tx.session))


def update_payment_record(tx: UnitOfWork, *, transaction_id: str, record: dict[str, Any],
                          received_at: datetime, event_id: str, posted_by: dict[str, Any]) -> None:
    """Store the latest record of a transaction (created on its first)."""
    tx.collection(PaymentRecordDoc).update_one(
        {"transaction_id": transaction_id},
        {"$set": {"record": record, "received_at": received_at, "event_id": event_id,
                  "posted_by": posted_by}},
        upsert=True, session=tx.session)


def create_card_key(tx: UnitOfWork, *, card_key: StoredCardKey) -> None:
    """Insert an encrypted card key."""
    tx.insert(card_key)
