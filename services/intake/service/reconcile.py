"""The reconciler: intake owns the complaint, so it re-drives filings some service never acted on.

The broker here keeps messages in memory only; after it restarts, a ComplaintFiled (or what the
services answered with) may be gone. The store still knows which complaints lack a step, and
publishing their ComplaintFiled again is safe: consumers ignore what they applied, and send
their own old effects again when the cause comes back late (see shared.outbox).
"""

from __future__ import annotations

from datetime import timedelta

from services.intake.models import Complaint
from shared.envelope import utcnow
from shared.outbox import redrive
from shared.store import database

#: The services that act on every filed complaint, as named on the timeline.
ACTORS = ("evidence", "escalation", "notify")


def redrive_stuck(*, after: timedelta, horizon: timedelta, limit: int = 500) -> list[str]:
    """Publish again the ComplaintFiled of complaints still missing a step; return their tickets."""
    now = utcnow()
    collection = database()[Complaint._get_collection_name()]
    stuck = collection.find(
        {
            "filed_at": {"$gt": now - horizon, "$lt": now - after},
            "$and": [
                {"$or": [{"redriven_at": None}, {"redriven_at": {"$lt": now - after}}]},
                {"$or": [{"status": "filed"}, *({"timeline.service": {"$ne": a}} for a in ACTORS)]},
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
