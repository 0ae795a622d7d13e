"""Folding other services' steps into the complaint's timeline and status."""

from __future__ import annotations

from typing import Any

from services.intake.models import Complaint, OpenComplaint, TimelineEntry
from services.intake.domain.status import FINISHED
from shared.envelope import Event, utcnow
from shared.store import Tx, transaction


def record_step(
    *, event: Event, service: str, step: str, detail: dict[str, Any] | None = None,
    status: str | None = None, tier: str | None = None,
) -> bool:
    """Append another service's step to the timeline once per event id; False on a repeat.

    A withdrawn complaint stays withdrawn whatever arrives later; a finished one frees its dedup slot.
    """
    entry = TimelineEntry(event_id=event.event_id, at=event.occurred_at, service=service,
                          step=step, detail=detail or {})

    def work(tx: Tx) -> bool:
        complaints = tx.collection(Complaint)
        # The $ne guard makes a redelivered event a no-op in the same single-document write.
        pushed = complaints.update_one(
            {"_id": event.complaint_id, "timeline.event_id": {"$ne": event.event_id}},
            {"$push": {"timeline": entry.to_mongo().to_dict()},
             "$set": {"updated_at": utcnow(), **({"tier": tier} if tier is not None else {})}},
            session=tx.session,
        )
        if pushed.modified_count != 1:
            return False
        if status is not None:
            complaints.update_one({"_id": event.complaint_id, "status": {"$ne": "withdrawn"}},
                                  {"$set": {"status": status}}, session=tx.session)
        if status in FINISHED:
            tx.collection(OpenComplaint).delete_many({"complaint_id": event.complaint_id}, session=tx.session)
        return True

    return transaction(work)
