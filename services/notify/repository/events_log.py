"""Stored partner events: the list partners reconcile from, and the deliveries a replay queues again."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

from pymongo import UpdateOne

from services.notify.domain.cursors import utc
from services.notify.models import Notification, PartnerEvent
from shared.store import UnitOfWork

#: What a packed event keeps (its page gives the platform and recorded_at).
_PACKED = ("event_type", "internal_type", "complaint_id", "ticket", "body")


def create_partner_event(tx: UnitOfWork, *, event: dict[str, Any], packable: bool = False) -> None:
    """Record an event (its stored row: one per partner-facing event, see shared.store.row) once: an
    event told again (a freeze request from two services, a redelivery) keeps its first record, so
    its place in the list and its body stay.

    `packable`: the event's id is its own (applied once, by the ledger), so in an atomic group it
    joins the group's first event of its platform (`PartnerEvent.more`) instead of being a document."""
    if tx.grouped and tx.atomic:
        slot = ("partner events", event["platform"])
        lead: PartnerEvent | None = tx.queued.get(slot) if packable else None
        if lead is not None:
            packed = {name: event[name] for name in _PACKED if event.get(name) is not None}
            if event.get("occurred_at") is not None:
                packed["occurred_at"] = utc(event["occurred_at"]).isoformat()
            lead.more.append({"id": event["_id"], **packed})
            return
        if packable:  # a document the group's next ones of the platform join (encoded at commit)
            tx.queued[slot] = first = PartnerEvent._from_son(event)
            first.more = []
            tx.add([first])
            return
        # A plain insert, cheaper in the store than an upsert: an event recorded before fails the
        # group's insert, and the group is applied one by one (where the upsert below keeps it).
        tx.add([event], document=PartnerEvent)
        return
    tx.write(PartnerEvent, [UpdateOne({"_id": event["_id"]}, {"$setOnInsert": event}, upsert=True)])


def expanded(doc: dict[str, Any]) -> list[PartnerEvent]:
    """A stored document's events: itself, then those packed with it (same platform and recorded_at)."""
    first = PartnerEvent._from_son(doc)
    packed, first.more = first.more or [], None
    return [first, *(PartnerEvent(
        id=one["id"], platform=first.platform, recorded_at=first.recorded_at,
        occurred_at=datetime.fromisoformat(one["occurred_at"]) if one.get("occurred_at") else None,
        **{name: one.get(name) for name in _PACKED}) for one in packed)]


def iter_partner_events(*, platform: str, since: datetime | None, until: datetime | None) -> Iterator[PartnerEvent]:
    """The platform's events recorded in [since, until), oldest first (by recorded_at, then id), read
    from the store as they are taken: a page of the events list stops reading once it is full.

    Only the index's fields (platform, one range on recorded_at) go to the store: anything more (the
    types, the cursor's id) is checked by the caller, see docs/architecture.md, Store notes. Events
    packed together share their document's recorded_at; two documents may share one too, so the
    events of one moment are ordered by id before any is given."""
    recorded: dict[str, Any] = ({"$gte": since} if since is not None else {}) | (
        {"$lt": until} if until is not None else {})
    query: dict[str, Any] = {"platform": platform} | ({"recorded_at": recorded} if recorded else {})
    moment: datetime | None = None
    same: list[PartnerEvent] = []
    # Closed when the page stops taking (the generator is closed), not left to the server's timeout.
    with PartnerEvent._get_collection().find(query).sort("recorded_at", 1) as docs:
        for doc in docs:
            events = expanded(doc)
            at = utc(events[0].recorded_at)
            if at != moment:
                yield from sorted(same, key=lambda e: e.id)
                moment, same = at, []
            same.extend(events)
    yield from sorted(same, key=lambda e: e.id)


def get_deliveries(*, ids: list[str]) -> dict[str, Notification]:
    """These deliveries as stored, by id (point lookups)."""
    return {n.id: n for n in Notification.objects(id__in=ids)}


def create_replays(*, docs: list[Notification]) -> int:
    """Record deliveries a replay adds (a subscription that had not had them); ids taken are skipped."""
    if not docs:
        return 0
    for doc in docs:
        doc.validate()
    result = Notification._get_collection().bulk_write(
        [UpdateOne({"_id": d.id}, {"$setOnInsert": d.to_mongo().to_dict()}, upsert=True) for d in docs],
        ordered=False)
    return len(result.upserted_ids)


def update_replayed(*, ids: list[str], now: datetime) -> int:
    """Make these settled deliveries due again now, under their own ids; ones still pending are left
    (they go out anyway), so a replay asked twice sends nothing twice."""
    changed = 0
    coll = Notification._get_collection()
    # One document at a time: see update_leases in repository/deliveries.py.
    for delivery_id in ids:
        changed += coll.update_one(
            {"_id": delivery_id, "state": {"$in": ["delivered", "failed"]}},
            {"$set": {"state": "pending", "next_attempt_at": now, "lease_until": now - timedelta(seconds=1),
                      "first_attempt_at": None}}).modified_count
    return changed
