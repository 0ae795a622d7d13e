"""The reconciler: intake owns the complaint, so it re-drives filings some service never acted on.

The broker here keeps messages in memory only; after it restarts, a ComplaintFiled (or what the
services answered with) may be gone. The store still knows which complaints lack a step, and
publishing their ComplaintFiled again is safe: consumers ignore what they applied, and send
their own old effects again when the cause comes back late (see shared.outbox).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from services.intake.models import Complaint
from shared.envelope import utcnow
from shared.outbox import redrive
from shared.store import database

#: The services that act on every filed complaint, as named on the timeline.
ACTORS = ("evidence", "escalation", "notify")


def _cutoff(collection: Any, *, actor: str, now: datetime, after: timedelta, horizon: timedelta) -> datetime:
    """Complaints filed before this that still lack the actor's step are stuck, not queued.

    A busy actor (its latest step less than `after` ago) works through a backlog in filing order,
    so a complaint is stuck only once the actor has acted on complaints filed `after` later. An
    idle actor has nothing queued: anything filed `after` ago and not acted on was lost.
    """
    latest = collection.find_one(
        {"filed_at": {"$gt": now - horizon}, "timeline.service": actor},
        {"filed_at": 1, "timeline.service": 1, "timeline.at": 1},
        sort=[("filed_at", -1)],
    )
    idle = now - after
    steps = [step["at"] for step in (latest or {}).get("timeline", []) if step.get("service") == actor]
    if not steps or max(steps) < idle:
        return idle
    return min(idle, latest["filed_at"] - after)


def redrive_stuck(*, after: timedelta, horizon: timedelta, limit: int = 500) -> list[str]:
    """Publish again the ComplaintFiled of complaints still missing a step; return their tickets.

    A complaint waiting behind a backlog is not stuck (re-sending it would only lengthen the
    backlog): the bound is how far each actor has got, not the wall clock alone.
    """
    now = utcnow()
    collection = database()[Complaint._get_collection_name()]
    cutoffs = {a: _cutoff(collection, actor=a, now=now, after=after, horizon=horizon) for a in ACTORS}
    stuck = collection.find(
        {
            "filed_at": {"$gt": now - horizon, "$lt": max(cutoffs.values())},
            "$and": [
                {"$or": [{"redriven_at": None}, {"redriven_at": {"$lt": now - after}}]},
                {"$or": [{"status": "filed", "filed_at": {"$lt": cutoffs["escalation"]}},
                         *({"timeline.service": {"$ne": a}, "filed_at": {"$lt": c}} for a, c in cutoffs.items())]},
            ],
        },
        {"_id": 1, "ticket": 1},
    ).limit(limit)
    tickets = []
    for doc in stuck:
        redrive(key=doc["_id"], message_type="ComplaintFiled")
        collection.update_one({"_id": doc["_id"]}, {"$set": {"redriven_at": now}})
        tickets.append(doc["ticket"])
    return tickets
