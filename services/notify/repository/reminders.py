"""Stored reminders: scheduled, cancelled, claimed under a lease and marked done."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from services.notify.models import Reminder
from shared.store import UnitOfWork, database


def has_later_basis(tx: UnitOfWork, *, reminder_id: str, basis_at: datetime) -> bool:
    """Whether the reminder was set from something later than basis_at."""
    newer = {"_id": reminder_id, "basis_at": {"$gt": basis_at}}
    return tx.collection(Reminder).find_one(newer, session=tx.session) is not None


def replace_reminder(tx: UnitOfWork, *, reminder_id: str, fields: dict[str, Any]) -> None:
    """Store a reminder with these fields, whatever it was before."""
    tx.collection(Reminder).replace_one({"_id": reminder_id}, fields, upsert=True, session=tx.session)


def update_cancelled(tx: UnitOfWork, *, reminder_id: str) -> None:
    """Cancel a reminder that is still pending."""
    tx.collection(Reminder).update_one({"_id": reminder_id, "state": "pending"},
                                       {"$set": {"state": "cancelled"}}, session=tx.session)


def update_digest(tx: UnitOfWork, *, digest_id: str, platform: str, agent_id: str, due_at: datetime,
                  ticket: str) -> None:
    """Add a ticket to an agent's digest, scheduling the digest if it is the first."""
    tx.collection(Reminder).update_one({"_id": digest_id}, {
        "$setOnInsert": {"kind": "breach_digest", "platform": platform, "agent_id": agent_id,
                         "state": "pending", "due_at": due_at},
        "$addToSet": {"tickets": ticket}}, upsert=True, session=tx.session)


def claim_reminder(*, now: datetime, lease: timedelta) -> Reminder | None:
    """Lease the earliest due pending reminder no one else holds; None when there is none."""
    coll = database()[Reminder._get_collection_name()]
    # The due reminders by the (state, due_at) index alone: a condition on the lease as well would
    # make the embedded store read every reminder ever written. The claim itself leads with _id.
    for candidate in coll.find({"state": "pending", "due_at": {"$lte": now}}, {"lease_until": 1}).sort("due_at", 1):
        if candidate.get("lease_until") and candidate["lease_until"] > now:
            continue  # another instance is sending it
        # An update, then a read by _id: the embedded store's findAndModify would read every reminder.
        taken = coll.update_one(
            {"_id": candidate["_id"], "state": "pending",
             "lease_until": {"$not": {"$gt": now}}},  # unleased or lapsed, unless taken meanwhile
            {"$set": {"lease_until": now + lease}})
        doc = coll.find_one({"_id": candidate["_id"]}) if taken.modified_count else None
        if doc is not None:
            return Reminder._from_son(doc)
    return None


def update_done(tx: UnitOfWork, *, reminder_id: str, at: datetime) -> bool:
    """Mark a pending reminder done; False when it was done already."""
    done = tx.collection(Reminder).update_one({"_id": reminder_id, "state": "pending"},
                                              {"$set": {"state": "done", "done_at": at}}, session=tx.session)
    return bool(done.modified_count)
