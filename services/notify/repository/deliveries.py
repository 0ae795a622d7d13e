"""Stored deliveries: intents recorded once, claimed under a lease, settled, read in the inbox."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, NamedTuple

from pymongo import UpdateOne

from services.notify.models import DeliveryAttempt, Notification, Subscription
from shared.envelope import new_id
from shared.store import UnitOfWork, database


class Due(NamedTuple):
    """A due pending delivery as a claim first sees it: enough to choose, not the content."""

    id: str
    subscription_id: str | None
    lease_until: datetime


def create_intents(tx: UnitOfWork, *, docs: list[Notification]) -> list[Notification]:
    """Record delivery intents (unique by key); the ones not recorded before."""
    if tx.grouped:
        # With the other events' writes at the end (their ids come from the event, applied once):
        # an intent recorded before fails the insert, and the group is applied again one by one.
        tx.add(docs)
        return docs
    for doc in docs:
        doc.validate()
    # All intents in one round-trip; an intent recorded before is not upserted again (its key).
    result = tx.collection(Notification).bulk_write(
        [UpdateOne({"_id": doc.id}, {"$setOnInsert": doc.to_mongo().to_dict()}, upsert=True) for doc in docs],
        ordered=True, session=tx.session)
    return [docs[i] for i in sorted(result.upserted_ids)]


def create_notification(tx: UnitOfWork, *, doc: Notification) -> None:
    """Insert one notification now (a duplicate key raises here)."""
    tx.insert(doc)


def list_due(*, channel: str, now: datetime) -> list[Due]:
    """The channel's pending deliveries due by now, earliest first, leased or not."""
    coll = database()[Notification._get_collection_name()]
    # Only the index's fields go to the store: the due deliveries of the channel. A condition on any
    # other field (the lease, the endpoint) makes the embedded store read every delivery ever
    # recorded instead, so those are checked by the caller. It fetches every match before a limit anyway.
    query = {"channel": channel, "state": "pending", "next_attempt_at": {"$lte": now}}
    return [Due(doc["_id"], doc.get("subscription_id"), doc["lease_until"]) for doc in
            coll.find(query, {"_id": 1, "subscription_id": 1, "lease_until": 1}).sort("next_attempt_at", 1)]


def list_held_endpoints(*, ids: set[str], now: datetime) -> set[str]:
    """Of these endpoints, the ones paused or still backing off at now."""
    # Only the endpoints that have something due, by _id: asking for paused or backing-off ones
    # instead makes the embedded store read every subscription at every claim.
    return {sub["_id"] for sub in database()[Subscription._get_collection_name()].find(
        {"_id": {"$in": sorted(ids)}}, {"paused_at": 1, "health.backoff_until": 1})
        if sub.get("paused_at") is not None
        or ((sub.get("health") or {}).get("backoff_until") or now) > now}  # None once it answers again


def update_leases(*, ids: list[str], now: datetime, lease: timedelta) -> list[Notification]:
    """Lease these deliveries until now + lease; the ones this call took (not leased meanwhile)."""
    coll = database()[Notification._get_collection_name()]
    token = new_id()
    # One update per delivery, never update_many: a delivery may carry the uncommitted outcome of a
    # process SIGKILLed mid-transaction. The embedded store retries a multi-document update's conflict
    # with it forever while holding the collection lock, and its reaper of dead transactions then
    # deadlocks behind the transactions queued on that lock (every write of every service hangs).
    # A single-document update waits for the reaper (at most 60 s) without holding the lock.
    # The filter leads with _id and names no other indexed field: the embedded store picks its
    # index from the filter's first fields, and (channel, state, ...) would make every claim read
    # the whole pending backlog. Lease and state are what a concurrent claim or settle changes.
    for delivery_id in ids:
        coll.update_one({"_id": delivery_id, "lease_until": {"$lte": now}, "state": "pending"},
                        {"$set": {"lease_until": now + lease, "lease_token": token}})
    return [Notification._from_son(d) for d in coll.find({"_id": {"$in": ids}, "lease_token": token})]


def update_settled(tx: UnitOfWork, *, doc: Notification, changes: dict[str, Any]) -> bool:
    """Apply an attempt's outcome to a delivery this worker still holds; False when another settled it."""
    mine = {"_id": doc.id, "lease_token": doc.lease_token, "state": "pending"}
    settled = tx.collection(Notification).update_one(mine, {"$set": changes}, session=tx.session)
    return bool(settled.modified_count)


def create_attempt(tx: UnitOfWork, *, attempt: DeliveryAttempt) -> None:
    """Log one attempt of a delivery."""
    tx.add([attempt])


def list_inbox(*, role: str, recipient_id: str, platform: str | None, unread_only: bool,
               limit: int) -> list[Notification]:
    """A reader's in-app notifications, newest first."""
    query: dict[str, Any] = {"recipient_role": role, "recipient_id": recipient_id, "channel": "in_app"}
    if platform:
        query["platform"] = platform
    if unread_only:
        query["read_at"] = None
    return list(Notification.objects(**query).order_by("-created_at").limit(limit))


def update_read(*, notification_id: str, role: str, recipient_id: str, platform: str | None,
                at: datetime) -> Notification | None:
    """Mark one of the reader's notifications read unless it is; it as stored, None when not theirs."""
    query: dict[str, Any] = {"id": notification_id, "recipient_role": role,
                             "recipient_id": recipient_id, "channel": "in_app"}
    if platform:
        query["platform"] = platform
    Notification.objects(read_at=None, **query).update_one(set__read_at=at)
    return Notification.objects(**query).first()


def count_pending(*, subscription_id: str) -> int:
    """Deliveries still to be made to an endpoint."""
    return Notification.objects(subscription_id=subscription_id, state="pending").count()


def list_webhook_deliveries(*, subscription_id: str, limit: int) -> list[Notification]:
    """An endpoint's deliveries, newest first."""
    return list(Notification.objects(subscription_id=subscription_id, channel="webhook")
                .order_by("-created_at").limit(limit))


def list_attempts(*, delivery_ids: list[str]) -> list[DeliveryAttempt]:
    """The attempts of these deliveries, in the order they were made."""
    return list(DeliveryAttempt.objects(delivery_id__in=delivery_ids).order_by("number"))


def update_redeliver(*, delivery_id: str, subscription_id: str, now: datetime) -> bool:
    """Make one of an endpoint's deliveries due again now; False when it has no such delivery."""
    changed = Notification.objects(id=delivery_id, subscription_id=subscription_id).update_one(
        set__state="pending", set__next_attempt_at=now, set__lease_until=now, set__first_attempt_at=None)
    return bool(changed)
