"""Stored deliveries: intents recorded once, claimed under a lease, settled, read in the inbox."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any, NamedTuple

from pymongo import UpdateMany, UpdateOne

from services.notify.models import DeliveryAttempt, DeliveryLog, Notification, Subscription
from shared.envelope import new_id
from shared.outbox import PackedRecords
from shared.store import UnitOfWork, database, run_transaction
from shared.store.by_ids import SLICE, find_by_ids


class Due(NamedTuple):
    """A due pending delivery as a claim first sees it: enough to choose, not the content."""

    id: str
    subscription_id: str | None
    lease_until: datetime
    #: Whose lease it had last: a process's hand-over token while it was handed to that process.
    lease_token: str | None = None


def create_intents(tx: UnitOfWork, *, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Record delivery intents, given as stored rows (unique by key); the ones not recorded before."""
    if tx.grouped:
        # With the other events' writes at the end (their ids come from the event, applied once):
        # an intent recorded before fails the insert, and the group is applied again one by one.
        tx.add(rows, document=Notification)
        return rows
    # All intents in one round-trip; an intent recorded before is not upserted again (its key).
    result = tx.collection(Notification).bulk_write(
        [UpdateOne({"_id": one["_id"]}, {"$setOnInsert": one}, upsert=True) for one in rows],
        ordered=True, session=tx.session)
    return [rows[i] for i in sorted(result.upserted_ids)]


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
    return [Due(doc["_id"], doc.get("subscription_id"), doc["lease_until"], doc.get("lease_token")) for doc in
            coll.find(query, {"_id": 1, "subscription_id": 1, "lease_until": 1, "lease_token": 1})
            .sort("next_attempt_at", 1)]


def list_endpoints_by_id(*, ids: set[str]) -> dict[str, Subscription]:
    """These endpoints as stored now, by id (deleted ones too: a send of theirs fails for good)."""
    # By _id only: asking for paused or backing-off ones instead makes the embedded store read every
    # subscription at every claim. One read per claim batch serves both the claim (which endpoints
    # are held) and every send of the batch (URL, secrets), instead of a read per send.
    return {sub["_id"]: Subscription._from_son(sub) for sub in
            database()[Subscription._get_collection_name()].find({"_id": {"$in": sorted(ids)}})}


def update_leases(*, ids: list[str], now: datetime, lease: timedelta) -> list[Notification]:
    """Lease these deliveries until now + lease; the ones this call took (not leased meanwhile)."""
    # One transaction: the deliveries read, the free ones (pending, lease run out) written by id
    # alone, one single-document statement each, never update_many: a delivery may carry the
    # uncommitted outcome of a process SIGKILLed mid-transaction. The embedded store retries a
    # multi-document update's conflict with it forever while holding the collection lock, and its
    # reaper of dead transactions then deadlocks behind the transactions queued on that lock (every
    # write of every service hangs). A single-document statement (multi=False, also inside a bulk:
    # the store applies each statement on its own) in a transaction fails on that conflict at once
    # and the transaction is tried again, without holding the lock. The transaction is also what
    # makes the bulk cheap: outside one, the store commits (and syncs to disk) every statement.
    # By id alone, as a settle writes (see _held): a delivery another claim or a settle wrote after
    # this transaction's read makes its write conflict, and the retry reads it taken.
    if not ids:
        return []
    token = new_id()
    leased = {"lease_until": now + lease, "lease_token": token}

    def take(tx: UnitOfWork) -> list[Notification]:
        coll = tx.collection(Notification)
        free = [d for d in find_by_ids(coll, ids, session=tx.session)
                if d.get("state") == "pending" and d["lease_until"] <= now]
        if free:
            coll.bulk_write([UpdateOne({"_id": d["_id"]}, {"$set": leased}) for d in free], ordered=True,
                            session=tx.session)
        return [Notification._from_son({**d, **leased}) for d in free]

    return run_transaction(take)


def update_released(*, ids: list[str], token: str, now: datetime) -> None:
    """Give back deliveries leased under `token` that were not sent: due to any claim from now."""
    # Read, then written by id alone, one single-document statement each: see update_leases.
    def give(tx: UnitOfWork) -> None:
        mine = _held(tx, dict.fromkeys(ids, token))
        if mine:
            tx.collection(Notification).bulk_write(
                [UpdateOne({"_id": delivery_id}, {"$set": {"lease_until": now}}) for delivery_id in sorted(mine)],
                ordered=True, session=tx.session)

    if ids:
        run_transaction(give)


def _outcome(changes: dict[str, Any], log: str) -> dict[str, Any]:
    # An attempt is counted where it is settled, and its log page named with it.
    return {"$set": changes, "$inc": {"attempts": 1}, "$push": {"log": log}}


def _held(tx: UnitOfWork, tokens: Mapping[str, str | None]) -> set[str]:
    """Of these deliveries (id → the lease token it was taken under), the ids this transaction reads
    still pending under that lease: the ones a settle or a release may write.

    Read, then written by id alone: the embedded store finds a document by a filter of `_id` alone
    directly, and walks its index catalogue for every other field a filter names (a settle guarded
    in its filter by lease and state cost it 0.97 ms of CPU a delivery, read first and written by id
    0.41-0.55 ms: bench.store_updates; docs/architecture.md, Store notes). The guard holds as it did
    in the filter: the transaction reads a snapshot, and a delivery another worker leased or settled
    after that snapshot makes the write conflict, and the transaction is tried again, reading the
    other's lease."""
    found = find_by_ids(tx.collection(Notification), list(tokens), projection={"lease_token": 1, "state": 1},
                        session=tx.session)
    return {d["_id"] for d in found if d.get("state") == "pending" and d.get("lease_token") == tokens[d["_id"]]}


def update_settled(tx: UnitOfWork, *, doc: Notification, changes: dict[str, Any], log: str) -> bool:
    """Apply an attempt's outcome (logged in page `log`) to a delivery this worker still holds; False
    when another settled it."""
    return bool(update_settled_many(tx, settles=[(doc, changes)], log=log))


def update_logged(tx: UnitOfWork, *, ids: list[str], log: str) -> None:
    """Name log page `log` on deliveries another worker settled (their attempt made here is logged too)."""
    # One single-document statement each: see update_leases.
    tx.write(Notification, [UpdateOne({"_id": delivery_id}, {"$push": {"log": log}}) for delivery_id in ids])


def _settle(ids: list[str], *, changes: dict[str, Any], log: str) -> UpdateOne | UpdateMany:
    update = _outcome(changes, log)
    if len(ids) == 1:
        return UpdateOne({"_id": ids[0]}, update)
    return UpdateMany({"_id": {"$in": ids}}, update)


def update_settled_many(tx: UnitOfWork, *, settles: list[tuple[Notification, dict[str, Any]]], log: str) -> set[str]:
    """Apply many attempts' outcomes (logged in page `log`) to the deliveries this worker still holds,
    in one bulk write of the transaction, each guarded by its lease token as update_settled is; the
    ids settled (the others were settled or taken by another worker)."""
    held = _held(tx, {doc.id: doc.lease_token for doc, _ in settles}) if settles else set()
    if not held:
        return set()
    # Deliveries with the same changes (those delivered in one batch: see outcomes._changes) go as
    # one statement a slice of ids (shared/store/by_ids.py): the store pays a fixed cost per
    # statement, more than a delivered one's own write.
    alike: dict[str, tuple[dict[str, Any], list[str]]] = {}
    for doc, changes in settles:
        if doc.id in held:
            alike.setdefault(repr(sorted(changes.items())), (changes, []))[1].append(doc.id)
    statements = [_settle(ids[low:low + SLICE], changes=changes, log=log)
                  for changes, ids in alike.values() for low in range(0, len(ids), SLICE)]
    tx.collection(Notification).bulk_write(statements, ordered=True, session=tx.session)
    return held


def create_log(tx: UnitOfWork, *, attempts: list[dict[str, Any]], now: datetime) -> str:
    """Log attempts of deliveries ({delivery_id, number, channel, started_at, status_code, latency_ms,
    error, ok} each) as one page; its id, for the deliveries to name."""
    page = DeliveryLog(id=new_id(), created_at=now, attempts=[
        {**one, "started_at": one["started_at"].isoformat()} for one in attempts])
    tx.add([page])
    return page.id


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


def update_render_failed(*, notification_id: str, template: str, error: str | None) -> bool:
    """Flag an in-app notice whose template failed as it was read; True the first time."""
    return bool(Notification.objects(id=notification_id, render_fallback__ne=True).update_one(
        set__render_fallback=True, set__template=template, set__render_error=error))


def endpoint_filter(subscription_id: str) -> dict[str, str]:
    """What finds an endpoint's deliveries through the inbox's index: each is the partner role's,
    with the subscription's id as reader (its owner's in-app notices name the subscription too,
    under the owner's id). There is no index of subscription_id: it cost every write of a delivery."""
    return {"recipient_role": "partner", "recipient_id": subscription_id, "subscription_id": subscription_id}


def count_pending(*, subscription_id: str) -> int:
    """Deliveries still to be made to an endpoint."""
    return Notification.objects(**endpoint_filter(subscription_id), state="pending").count()


def list_webhook_deliveries(*, subscription_id: str, limit: int) -> list[Notification]:
    """An endpoint's deliveries, newest first."""
    return list(Notification.objects(**endpoint_filter(subscription_id), channel="webhook")
                .order_by("-created_at").limit(limit))


#: What the delivery log shows of an attempt.
ATTEMPT_FIELDS = ("number", "started_at", "ok", "status_code", "latency_ms", "error")


def list_attempts(*, deliveries: list[Notification]) -> dict[str, list[dict[str, Any]]]:
    """The attempts of these deliveries, each in the order they were made (ATTEMPT_FIELDS), by id:
    from the log pages they name, and for those that made attempts before the pages (fewer numbers
    found than they counted), from the attempts logged one by one."""
    found: dict[str, list[dict[str, Any]]] = {doc.id: [] for doc in deliveries}
    pages = sorted({page for doc in deliveries for page in doc.log or ()})
    for page in find_by_ids(DeliveryLog._get_collection(), pages, projection={"attempts": 1}):
        for one in PackedRecords.to_python(page.get("attempts")):
            if one["delivery_id"] in found:
                one["started_at"] = datetime.fromisoformat(one["started_at"])
                found[one["delivery_id"]].append({name: one.get(name) for name in ATTEMPT_FIELDS})
    older = [doc.id for doc in deliveries if len({one["number"] for one in found[doc.id]}) < (doc.attempts or 0)]
    for attempt in DeliveryAttempt.objects(delivery_id__in=older) if older else ():
        found[attempt.delivery_id].append({name: getattr(attempt, name) for name in ATTEMPT_FIELDS})
    for attempts in found.values():
        attempts.sort(key=lambda one: (one["number"], one["started_at"]))
    return found


def update_redeliver(*, delivery_id: str, subscription_id: str, now: datetime) -> bool:
    """Make one of an endpoint's deliveries due again now; False when it has no such delivery."""
    changed = Notification.objects(id=delivery_id, subscription_id=subscription_id).update_one(
        set__state="pending", set__next_attempt_at=now, set__lease_until=now, set__first_attempt_at=None)
    return bool(changed)


def list_health(tx: UnitOfWork, *, subscription_ids: list[str]) -> dict[str, tuple[dict[str, Any], datetime | None]]:
    """Endpoints' stored health and pause time as of this settling transaction, by id (one read)."""
    found = tx.collection(Subscription).find({"_id": {"$in": sorted(subscription_ids)}},
                                             {"health": 1, "paused_at": 1}, session=tx.session)
    return {sub["_id"]: (sub.get("health") or {}, sub.get("paused_at")) for sub in found}


def webhook_backlog() -> dict[str, tuple[int, datetime]]:
    """Pending webhook deliveries by endpoint (subscription id): how many, and when the oldest was
    recorded. Read through the (channel, state, next_attempt_at) index: the cost grows with what is
    pending, not with every delivery ever recorded."""
    found: dict[str, tuple[int, datetime]] = {}
    for doc in database()[Notification._get_collection_name()].find(
            {"channel": "webhook", "state": "pending"}, {"_id": 0, "subscription_id": 1, "created_at": 1}):
        endpoint = doc.get("subscription_id") or ""
        count, oldest = found.get(endpoint, (0, doc["created_at"]))
        found[endpoint] = (count + 1, min(oldest, doc["created_at"]))
    return found
