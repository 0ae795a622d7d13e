"""Payment records from channels and encrypted card keys in the store."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pymongo import UpdateOne

from services.evidence.models import PaymentRecordDoc, PaymentWatch, StoredCardKey
from shared.store import UnitOfWork


def get_payment_record(tx: UnitOfWork, *, transaction_id: str) -> dict[str, Any] | None:
    """The stored record of a transaction (`record` holds what the channel said), or None."""
    return tx.collection(PaymentRecordDoc).find_one({"transaction_id": transaction_id},
                                                    session=tx.session)


def _order_query(transaction_id: str | None, order_number: str) -> dict[str, Any]:
    return ({"transaction_id": transaction_id} if transaction_id
            else {"record.order_number": order_number})


def _ahead_key(transaction_id: str | None, order_number: str) -> tuple[Any, ...]:
    # Kept among the unit's read-ahead documents under a key no document id can take.
    return (PaymentRecordDoc, ("for-order", transaction_id, None if transaction_id else order_number))


def read_ahead_records_for_orders(uow: UnitOfWork, *,
                                  orders: list[tuple[str | None, str]]) -> None:
    """Read the stored records of these orders (transaction id, order number) in one query, for
    `list_records_for_order` in this unit to answer from."""
    if not orders:
        return
    found = list(uow.collection(PaymentRecordDoc).find(
        {"$or": [_order_query(tx_id, number) for tx_id, number in orders]}, session=uow.session))
    for tx_id, number in orders:
        uow.read_ahead[_ahead_key(tx_id, number)] = [
            doc for doc in found if (doc["transaction_id"] == tx_id if tx_id else
                                     doc["record"].get("order_number") == number)]


def list_records_for_order(tx: UnitOfWork, *, transaction_id: str | None,
                           order_number: str) -> list[dict[str, Any]]:
    """Stored records of a transaction id, or (without one) naming this order number (as read
    ahead in this unit, else read now)."""
    ahead = tx.read_ahead.get(_ahead_key(transaction_id, order_number))
    if ahead is not None:
        return list(ahead)
    return list(tx.collection(PaymentRecordDoc).find(_order_query(transaction_id, order_number),
                                                     session=tx.session))


def update_payment_record(tx: UnitOfWork, *, transaction_id: str, record: dict[str, Any],
                          received_at: datetime, event_id: str, posted_by: dict[str, Any]) -> None:
    """Store the latest record of a transaction (created on its first)."""
    tx.collection(PaymentRecordDoc).update_one(
        {"transaction_id": transaction_id},
        {"$set": {"record": record, "received_at": received_at, "event_id": event_id,
                  "posted_by": posted_by}},
        upsert=True, session=tx.session)


def update_payment_watches(tx: UnitOfWork, *, keys: list[str]) -> None:
    """Write the meeting documents of a payment (see PaymentWatch): a filing and a record of the
    same payment applied at once then conflict, and the store retries one after the other."""
    tx.write(PaymentWatch, [UpdateOne({"_id": key}, {"$inc": {"touches": 1}}, upsert=True)
                            for key in keys])


def create_card_key(tx: UnitOfWork, *, card_key: StoredCardKey) -> None:
    """Insert an encrypted card key."""
    tx.insert(card_key)
