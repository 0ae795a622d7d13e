"""The reconciler: intake owns the complaint, so it re-drives filings some service never acted on.

The broker here keeps messages in memory only; after it restarts, a ComplaintFiled (or what the
services answered with) may be gone. The store still knows which complaints lack a step, and
publishing their ComplaintFiled again is safe: consumers ignore what they applied, and send
their own old effects again when the cause comes back late (see shared.outbox).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from aiokafka.partitioner import murmur2
from pymongo import UpdateOne

from services.intake.models import Complaint, ComplaintWait
from shared.envelope import utcnow
from shared.outbox import redrive
from shared.store import database, insert_new

#: The services that act on every filed complaint, as named on the timeline; a ComplaintWait stands
#: for each one not heard from yet, and that service's first step deletes it.
ACTORS = ("evidence", "escalation", "notify")


def partition_of(complaint_id: str, *, partitions: int) -> int:
    """The partition a complaint's events go to (the Kafka client's default partitioner on the key)."""
    return (murmur2(complaint_id.encode()) & 0x7FFFFFFF) % partitions


def _missing(doc: dict[str, Any], waits: dict[str, set[str]]) -> set[str]:
    missing = set(waits.get(doc["_id"], ()))
    if doc.get("status") == "filed":
        missing.add("escalation")
    return missing


class Activity:
    """When this process last saw each service act, on the partitions it folds steps from.

    A service that has done nothing for a while has nothing queued. One that acts on any partition
    is busy: under a backlog it may leave a partition without a step for minutes while it works
    through the others, so silence on one partition alone proves nothing. Only partitions this
    process watches are judged (another instance watches the rest), and only once it has watched
    them for the bound: a restart or a rebalance does not look like a stall.
    """

    def __init__(self) -> None:
        self._seen: dict[str, datetime] = {}
        self._watched: dict[str, dict[int, datetime]] = {}

    def watch(self, actor: str, partitions: set[int]) -> None:
        """The partitions whose steps from `actor` this process receives now."""
        now, watched = utcnow(), self._watched.setdefault(actor, {})
        for gone in set(watched) - partitions:
            del watched[gone]
        for new in partitions - set(watched):
            watched[new] = now

    def note(self, actor: str) -> None:
        """A step of the actor just arrived."""
        self._seen[actor] = utcnow()

    def idle(self, actor: str, partition: int, *, since: datetime) -> bool:
        """Whether this process has watched the partition and seen the actor do nothing since `since`."""
        watched_from = self._watched.get(actor, {}).get(partition)
        if watched_from is None:
            return False
        return max(watched_from, self._seen.get(actor, watched_from)) < since


def waiting_queries(*, now: datetime, after: timedelta, horizon: timedelta) -> list[tuple[str, dict[str, Any]]]:
    """The reconciler's queries (collection, filter) for what was filed within the horizon and still
    waits for someone: each service's waits, and complaints whose case has not opened.

    Each is one field's equality and a range, the shape the embedded store serves from an index;
    with an $in, or a condition on a field outside the index, it reads the whole collection instead.
    """
    filed = {"$gt": now - horizon, "$lt": now - after}
    return [(ComplaintWait._get_collection_name(), {"actor": actor, "filed_at": filed}) for actor in ACTORS] + \
        [(Complaint._get_collection_name(), {"status": "filed", "filed_at": filed})]


def _waits(queries: list[dict[str, Any]]) -> dict[str, set[str]]:
    """The services each complaint the queries find still waits for, by complaint id."""
    collection, waits = database()[ComplaintWait._get_collection_name()], {}
    for query in queries:
        for doc in collection.find(query, {"complaint_id": 1, "actor": 1}):
            waits.setdefault(doc["complaint_id"], set()).add(doc["actor"])
    return waits


def redrive_stuck(*, after: timedelta, horizon: timedelta, partitions: int,
                  idle: Callable[[str, int], bool], limit: int = 500) -> list[str]:
    """Publish again the ComplaintFiled of complaints a service passed by; return their tickets.

    A consumer works through each partition in order, so a complaint still lacking a service's step
    while that service has acted on a complaint of the same partition filed `after` later was
    skipped: its event was lost. So was it when `idle(service, partition)` says the service has done
    nothing for the bound (see Activity). A complaint merely queued behind a backlog is left alone,
    since re-sending it would only lengthen the backlog.
    """
    now = utcnow()
    collection = database()[Complaint._get_collection_name()]
    seen = {"_id": 1, "ticket": 1, "filed_at": 1, "status": 1, "redriven_at": 1}
    # Only complaints still waiting for a service (or for their case to open) are read, not every
    # complaint of the horizon: that is days of filings at a busy platform, every round.
    queries = waiting_queries(now=now, after=after, horizon=horizon)
    waits = _waits([query for name, query in queries if name == ComplaintWait._get_collection_name()])
    found = {doc["_id"]: doc for name, query in queries if name == collection.name
             for doc in collection.find(query, seen)}
    if unread := set(waits) - set(found):
        found.update((doc["_id"], doc) for doc in collection.find({"_id": {"$in": sorted(unread)}}, seen))
    # Never re-driven, or not lately.
    waiting = sorted(((doc, missing) for doc in found.values()
                      if not doc.get("redriven_at") or doc["redriven_at"] < now - after
                      if (missing := _missing(doc, waits))), key=lambda pair: pair[0]["filed_at"])
    if not waiting:
        return []
    # How far each service got in each partition, among complaints filed since the oldest waiting one.
    since = {"$gte": waiting[0][0]["filed_at"]}
    waits = _waits([{"actor": actor, "filed_at": since} for actor in ACTORS])
    latest: dict[tuple[str, int], datetime] = {}
    for doc in collection.find({"filed_at": since}, seen):
        part, missing = partition_of(doc["_id"], partitions=partitions), _missing(doc, waits)
        for actor in ACTORS:
            if actor not in missing:
                latest[actor, part] = max(latest.get((actor, part), doc["filed_at"]), doc["filed_at"])
    stuck = []
    for doc, missing in waiting:
        part = partition_of(doc["_id"], partitions=partitions)
        if any(idle(a, part) or latest.get((a, part), doc["filed_at"]) - doc["filed_at"] >= after
               for a in missing):
            stuck.append(doc)
        if len(stuck) >= limit:
            break
    for doc in stuck:
        redrive(key=doc["_id"], message_type="ComplaintFiled")
        collection.update_one({"_id": doc["_id"]}, {"$set": {"redriven_at": now}})
    return [doc["ticket"] for doc in stuck]


#: The index of the lists complaints carried before their waits were documents of their own.
_LISTED = "awaiting_1_filed_at_1"


def adopt_listed_waits() -> int:
    """Turn what complaints filed before waits were documents still list as `awaiting` into waits
    (at start); how many complaints. Their index goes once that is done, so a later start skips this.
    """
    collection = database()[Complaint._get_collection_name()]
    if _LISTED not in collection.index_information():
        return 0
    listed = {doc["_id"]: doc for actor in ACTORS
              for doc in collection.find({"awaiting": actor}, {"awaiting": 1, "filed_at": 1})}
    if listed:
        # A start cut short may have written some of them already.
        insert_new(database()[ComplaintWait._get_collection_name()], [
            {"_id": ComplaintWait.key(doc["_id"], actor), "complaint_id": doc["_id"], "actor": actor,
             "filed_at": doc["filed_at"]} for doc in listed.values() for actor in doc["awaiting"] if actor in ACTORS])
        collection.bulk_write([UpdateOne({"_id": _id}, {"$unset": {"awaiting": ""}}) for _id in listed],
                              ordered=False)
    collection.drop_index(_LISTED)
    return len(listed)
