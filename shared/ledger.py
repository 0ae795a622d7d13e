"""The idempotent-consumer ledger: which event ids each consumer has already applied."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from mongoengine import DateTimeField, Document, StringField
from pymongo.errors import DuplicateKeyError

from shared.envelope import Message as Event
from shared.envelope import utcnow
from shared.store import UnitOfWork

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


def record_processed(uow: UnitOfWork, *, consumer: str, event_id: str, event_type: str) -> None:
    """Record an event as applied in this unit of work; raise AlreadyProcessed on a repeat.

    In a consumer's group the insert waits for the group's commit, where a repeat fails the whole
    group, which is then applied message by message and the repeat found here.
    """
    try:
        uow.add([
            ProcessedEvent(
                consumer=consumer, event_id=event_id, event_type=event_type, processed_at=utcnow()
            )
        ])
    except DuplicateKeyError as exc:
        raise AlreadyProcessed(event_id) from exc


def apply_once(uow: UnitOfWork, *, consumer: str, event: Event, work: Callable[[UnitOfWork], T]) -> T:
    """Apply an event's effects and record it as processed in one transaction of the unit of work.

    A redelivered event raises AlreadyProcessed and changes nothing.
    """

    def _work(tx: UnitOfWork) -> T:
        record_processed(tx, consumer=consumer, event_id=event.event_id, event_type=event.type)
        return work(tx)

    return uow.transaction(_work)
