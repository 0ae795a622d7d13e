"""What the reconciler waits for: one ComplaintWait per service not heard from yet, and its queries."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from pymongo import InsertOne, UpdateOne

from services.intake.domain.actors import ACTORS
from services.intake.models import Complaint, ComplaintWait
from shared.store import UnitOfWork, database, insert_new

#: What the reconciler reads of a complaint.
_SEEN = {"_id": 1, "ticket": 1, "filed_at": 1, "status": 1, "redriven_at": 1}


def create_waits(tx: UnitOfWork, *, complaint: Complaint) -> None:
    """Wait for every service that acts on each complaint, one ComplaintWait each (three a filing):
    written as stored, not built through the document class."""
    tx.write(ComplaintWait, [InsertOne({"_id": ComplaintWait.key(complaint.id, actor), "complaint_id": complaint.id,
                                        "actor": actor, "filed_at": complaint.filed_at}) for actor in ACTORS])


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
    waits: dict[str, set[str]]
    collection, waits = database()[ComplaintWait._get_collection_name()], {}
    for query in queries:
        for doc in collection.find(query, {"complaint_id": 1, "actor": 1}):
            waits.setdefault(doc["complaint_id"], set()).add(doc["actor"])
    return waits


def list_waiting(*, now: datetime, after: timedelta, horizon: timedelta
                 ) -> tuple[dict[str, dict[str, Any]], dict[str, set[str]]]:
    """Complaints filed within the horizon, `after` ago or more, that wait for a service or for their
    case to open, by id; and the services each of them waits for."""
    collection = database()[Complaint._get_collection_name()]
    # Only complaints still waiting for a service (or for their case to open) are read, not every
    # complaint of the horizon: that is days of filings at a busy platform, every round.
    queries = waiting_queries(now=now, after=after, horizon=horizon)
    waits = _waits([query for name, query in queries if name == ComplaintWait._get_collection_name()])
    found = {doc["_id"]: doc for name, query in queries if name == collection.name
             for doc in collection.find(query, _SEEN)}
    if unread := set(waits) - set(found):
        found.update((doc["_id"], doc) for doc in collection.find({"_id": {"$in": sorted(unread)}}, _SEEN))
    return found, waits


def list_filed_since(*, since: datetime) -> tuple[Iterable[dict[str, Any]], dict[str, set[str]]]:
    """The complaints filed at `since` or later (read as they are iterated), and the services each
    of them still waits for."""
    filed = {"$gte": since}
    waits = _waits([{"actor": actor, "filed_at": filed} for actor in ACTORS])
    return database()[Complaint._get_collection_name()].find({"filed_at": filed}, _SEEN), waits


def update_redriven(*, complaint_id: str, at: datetime) -> None:
    """Note when the complaint's ComplaintFiled was last published again."""
    database()[Complaint._get_collection_name()].update_one({"_id": complaint_id}, {"$set": {"redriven_at": at}})


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
