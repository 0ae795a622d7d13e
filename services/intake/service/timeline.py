"""Folding other services' steps into the complaint's timeline and status."""

from __future__ import annotations

from typing import Any

from pymongo import UpdateOne
from pymongo.client_session import ClientSession
from pymongo.collection import Collection

from services.intake.models import Complaint, TimelineEntry
from services.intake.service import slots
from services.intake.domain.status import FINISHED
from shared.envelope import Event, utcnow
from shared.store import Tx, database, shared_tx, transaction


def record_step(
    *, event: Event, service: str, step: str, detail: dict[str, Any] | None = None,
    status: str | None = None, tier: str | None = None,
) -> bool | None:
    """Append another service's step to the timeline once per event id; False on a repeat.

    A withdrawn complaint stays withdrawn whatever arrives later, and a status change older than the
    one shown (a relay killed mid-batch holds its entries for a lease while the case moves on) is
    recorded without moving the status back; a finished one frees its dedup slot. In a consumer's
    shared transaction the writes go out with the batch's, and None is returned.
    """
    entry = TimelineEntry(event_id=event.event_id, at=event.occurred_at, service=service,
                          step=step, detail=detail or {})
    push = {"$push": {"timeline": entry.to_mongo().to_dict()}, "$pull": {"awaiting": service},
            "$set": {"updated_at": utcnow(), **({"tier": tier} if tier is not None else {})}}
    if status in FINISHED:

        def work(tx: Tx) -> bool:
            if not _push(tx.collection(Complaint), event=event, push=push, status=status, session=tx.session):
                return False
            slots.free(tx, complaint_id=event.complaint_id)
            return True

        return transaction(work)
    shared = shared_tx()
    if shared is not None:
        # Applied with other complaints' steps: the same writes, sent in one bulk write at commit.
        shared.defer_writes(Complaint, [UpdateOne(where, update)
                                        for where, update in _writes(event=event, push=push, status=status)])
        return None
    # Any other step touches this one document, and a single write is atomic on its own: no
    # transaction, so no commit round-trip on the busiest path of the service.
    return _push(database()[Complaint._get_collection_name()], event=event, push=push, status=status)


def _writes(*, event: Event, push: dict[str, Any], status: str | None) -> list[tuple[dict, dict]]:
    """The step's writes, each (filter, update): a later one only lands if no earlier one did.

    The $ne guard makes a redelivered event a no-op. With a status, the first write sets it too,
    unless the complaint is withdrawn or shows a newer one; the step is still recorded once.
    """
    new = {"_id": event.complaint_id, "timeline.event_id": {"$ne": event.event_id}}
    writes = [(new, push)]
    if status is not None:
        # "$not $gt" rather than an $or of null and $lte: the embedded store plans no index for a
        # filter with a top-level operator, and would read every complaint for each step.
        current = {"status": {"$ne": "withdrawn"}, "status_at": {"$not": {"$gt": event.occurred_at}}}
        with_status = {**push, "$set": {**push["$set"], "status": status, "status_at": event.occurred_at}}
        writes.insert(0, ({**new, **current}, with_status))
    return writes


def _push(complaints: Collection, *, event: Event, push: dict[str, Any], status: str | None,
          session: ClientSession | None = None) -> bool:
    """Push the step (and the status when it may), write by write; False on a repeat."""
    return any(complaints.update_one(where, update, session=session).modified_count
               for where, update in _writes(event=event, push=push, status=status))
