"""The idempotent-consumer ledger: which event ids each consumer has already applied."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from mongoengine import DateTimeField, Document, StringField
from pymongo.errors import DuplicateKeyError

from shared.envelope import Message as Event
from shared.envelope import utcnow
from shared.store import UnitOfWork, row

T = TypeVar("T")


class AlreadyProcessed(Exception):
    """The event was applied before; the redelivery changes nothing."""


#: The TTL index that removes ledger entries `ledger_retention_h` after they were applied.
LEDGER_TTL_INDEX = "processed_at_ttl"


class ProcessedEvent(Document):
    """One applied (consumer, event id) pair, under the id `ledger_id` makes of them: a repeat's
    insert meets the same id and fails.

    Entries expire `ledger_retention_h` after `processed_at` (a TTL index, `ensure_ledger_ttl`):
    past that no redelivery can come (it must exceed the outbox's `outbox_retention_h`, which
    bounds what re-driving can publish again), so the ledger stays bounded. The pair is the id, not
    a unique index of its own: every message every consumer applies writes one entry, and each index
    costs each write (measured on the embedded store: 0.08 ms an entry, a third of the insert)."""

    meta = {"collection": "processed_events"}

    id = StringField(primary_key=True)  # ledger_id(consumer, event_id)
    consumer = StringField(required=True)
    event_id = StringField(required=True)
    event_type = StringField(required=True)
    processed_at = DateTimeField(required=True)


#: The unique index on (consumer, event_id) that guarded entries of versions before the pair was the
#: id (theirs have generated ids): kept while any of theirs is stored (see retire_legacy_index).
LEGACY_UNIQUE_INDEX = "consumer_1_event_id_1"


def ledger_id(consumer: str, event_id: str) -> str:
    """The id of a consumer's entry for an event."""
    return f"{consumer}:{event_id}"


def record_processed(uow: UnitOfWork, *, consumer: str, event_id: str, event_type: str) -> None:
    """Record an event as applied in this unit of work; raise AlreadyProcessed on a repeat.

    In a consumer's group the insert waits for the group's commit, where a repeat fails the whole
    group, which is then applied message by message and the repeat found here.
    """
    try:
        # A row, not a document object: one per event every consumer applies (see shared.store.row).
        uow.add([row(ProcessedEvent, id=ledger_id(consumer, event_id), consumer=consumer, event_id=event_id,
                     event_type=event_type, processed_at=utcnow())], document=ProcessedEvent)
    except DuplicateKeyError as exc:
        raise AlreadyProcessed(event_id) from exc


def read_applied(uow: UnitOfWork, *, consumer: str, event_ids: list[str]) -> set[str]:
    """Of these events, the ones the consumer applied before (one query for a group)."""
    if not event_ids:
        return set()
    ids = {ledger_id(consumer, event_id): event_id for event_id in event_ids}
    found = uow.collection(ProcessedEvent).find({"_id": {"$in": sorted(ids)}}, {"_id": 1}, session=uow.session)
    return {ids[doc["_id"]] for doc in found}


def apply_once(uow: UnitOfWork, *, consumer: str, event: Event, work: Callable[[UnitOfWork], T]) -> T:
    """Apply an event's effects and record it as processed in one transaction of the unit of work.

    A redelivered event raises AlreadyProcessed and changes nothing.
    """

    def _work(tx: UnitOfWork) -> T:
        record_processed(tx, consumer=consumer, event_id=event.event_id, event_type=event.type)
        return work(tx)

    return uow.transaction(_work)


def check_ledger_retention(ledger_retention_h: float, outbox_retention_h: float) -> None:
    """Refuse a ledger retention that is not above the outbox's: an event re-driven from the outbox
    after its ledger entry expired would be applied twice."""
    if ledger_retention_h <= outbox_retention_h:
        raise ValueError(
            f"ledger_retention_h ({ledger_retention_h:g}) must be above outbox_retention_h "
            f"({outbox_retention_h:g}): a published event can be re-driven until the outbox prunes it, "
            f"and its consumers must still remember they applied it")


def ensure_ttl_index(collection: Any, *, field: str, name: str, seconds: int) -> None:
    """Create the TTL index `name` on `field` expiring after `seconds`; one with another expiry is
    dropped and made again (idempotent; a retention changed in configuration takes effect)."""
    existing = collection.index_information().get(name)
    if existing is not None and existing.get("expireAfterSeconds") == seconds:
        return
    if existing is not None:
        collection.drop_index(name)
    collection.create_index(field, name=name, expireAfterSeconds=seconds)


def retire_legacy_index(collection: Any) -> bool:
    """Drop the unique index of versions before the pair was the id, once none of their entries is
    stored (the TTL index removes them after the retention); True when it is gone.

    While one is, the index stays: a repeat of an event an earlier version applied (its entry has a
    generated id) still fails on it, as does one applied by an instance of that version during a
    rolling upgrade, whose entries the index also keeps apart from this version's."""
    if LEGACY_UNIQUE_INDEX not in collection.index_information():
        return True
    if collection.find_one({"_id": {"$not": {"$type": "string"}}}, projection={"_id": 1}) is not None:
        return False
    collection.drop_index(LEGACY_UNIQUE_INDEX)
    return True


def ensure_ledger_ttl(*, ledger_retention_h: float) -> None:
    """The ledger's TTL index on `processed_at`, and the retired unique index dropped once nothing
    needs it (both when the service prepares its store)."""
    collection = ProcessedEvent._get_collection()
    ensure_ttl_index(collection, field="processed_at", name=LEDGER_TTL_INDEX, seconds=int(ledger_retention_h * 3600))
    retire_legacy_index(collection)
