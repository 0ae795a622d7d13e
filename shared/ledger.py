"""The idempotent-consumer ledger: which event ids each consumer has already applied."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from mongoengine import DateTimeField, Document, StringField
from pymongo.errors import DuplicateKeyError

from shared.envelope import Message as Event
from shared.envelope import utcnow
from shared.store import Tx, transaction

T = TypeVar("T")


class AlreadyProcessed(Exception):
    """The event was applied before; the redelivery changes nothing."""


class ProcessedEvent(Document):
    """One applied (consumer, event id) pair; the unique index makes a repeat fail."""

    meta = {
        "collection": "processed_events",
        "indexes": [{"fields": ["consumer", "event_id"], "unique": True}],
    }

    consumer = StringField(required=True)
    event_id = StringField(required=True)
    event_type = StringField(required=True)
    processed_at = DateTimeField(required=True)


def record_processed(tx: Tx, *, consumer: str, event_id: str, event_type: str) -> None:
    """Record an event as applied in this transaction; raise AlreadyProcessed on a repeat.

    In a batch's shared transaction the insert waits for the batch's flush, where a repeat fails
    the whole batch, which is then applied message by message and the repeat found here.
    """
    try:
        tx.defer([
            ProcessedEvent(
                consumer=consumer, event_id=event_id, event_type=event_type, processed_at=utcnow()
            )
        ])
    except DuplicateKeyError as exc:
        raise AlreadyProcessed(event_id) from exc


def apply_once(*, consumer: str, event: Event, work: Callable[[Tx], T]) -> T:
    """Apply an event's effects and record it as processed in one transaction.

    A redelivered event raises AlreadyProcessed and changes nothing.
    """

    def _work(tx: Tx) -> T:
        record_processed(tx, consumer=consumer, event_id=event.event_id, event_type=event.type)
        return work(tx)

    return transaction(_work)
