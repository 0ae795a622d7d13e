"""The applied-event ledger on the real store: the (consumer, event) pair is each entry's id, so a
repeat is refused without an index of its own; a store written by the version before (generated
ids, a unique index on the pair) keeps refusing the repeats it knows until its entries expire."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from bson import ObjectId

from shared.contracts.escalation import ComplaintStatusChanged
from shared.ledger import (
    LEDGER_TTL_INDEX,
    LEGACY_UNIQUE_INDEX,
    AlreadyProcessed,
    ProcessedEvent,
    apply_once,
    ensure_ledger_ttl,
)
from shared.store import UnitOfWork
from tests.support.samples import status_change
from tests.support.servers import Servers, own_database

pytestmark = pytest.mark.integration


@pytest.fixture
def db(servers: Servers, namespace: str) -> Iterator[None]:
    with own_database(servers, f"{namespace}_ledger", ProcessedEvent):
        yield


def applied(event: ComplaintStatusChanged, consumer: str = "escalation") -> list[str]:
    """Apply the event once through the ledger; what its work did (nothing on a repeat)."""
    done: list[str] = []
    try:
        apply_once(UnitOfWork.standalone(), consumer=consumer, event=event,
                   work=lambda tx: done.append(event.event_id))
    except AlreadyProcessed:
        return []
    return done


def test_a_repeat_is_refused_by_the_entry_s_id_with_no_index_beside_the_ttl(db: None) -> None:
    ensure_ledger_ttl(ledger_retention_h=336)
    event = status_change(901)

    assert applied(event) == [event.event_id]
    assert applied(event) == [], "the repeat changed something"
    # Another consumer applies the same event on its own.
    assert applied(event, consumer="notify") == [event.event_id]

    indexes = ProcessedEvent._get_collection().index_information()
    assert sorted(indexes) == sorted(["_id_", LEDGER_TTL_INDEX])
    stored = ProcessedEvent._get_collection().find_one({"consumer": "escalation"})
    assert stored["_id"] == f"escalation:{event.event_id}"
    assert ProcessedEvent.objects.count() == 2


def test_an_upgraded_store_keeps_refusing_what_the_version_before_applied_until_its_entries_expire(db: None) -> None:
    collection = ProcessedEvent._get_collection()
    # As the version before left it: a unique index on the pair, entries with generated ids.
    collection.create_index([("consumer", 1), ("event_id", 1)], unique=True, name=LEGACY_UNIQUE_INDEX)
    before = status_change(902)
    collection.insert_one({"_id": ObjectId(), "consumer": "escalation", "event_id": before.event_id,
                           "event_type": before.type, "processed_at": datetime.now(UTC)})

    ensure_ledger_ttl(ledger_retention_h=336)  # the new version starts
    assert LEGACY_UNIQUE_INDEX in collection.index_information(), "dropped while an old entry needs it"
    assert applied(before) == [], "an event the version before applied was applied again"
    after = status_change(902, "merchant_processing")
    assert applied(after) == [after.event_id]
    assert applied(after) == []

    # The TTL index removes the old entries after the retention; the next start drops the index.
    collection.delete_many({"_id": {"$type": "objectId"}})
    ensure_ledger_ttl(ledger_retention_h=336)
    assert LEGACY_UNIQUE_INDEX not in collection.index_information()
    assert applied(after) == [], "a repeat got through once the old index was gone"
