"""Intake's logic: numbering and filing complaints, reading them, and folding in other services' steps."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from pymongo import ReturnDocument

from services.intake.models import Complaint, TicketSequence, TimelineEntry
from shared.contracts.complaints import Complainant, ComplaintFiled, OrderSummary, Party
from shared.envelope import Event, new_id, utcnow
from shared.outbox import emit
from shared.store import Tx, database, transaction
from shared.telemetry import current_trace_id

SHANGHAI = ZoneInfo("Asia/Shanghai")


def next_ticket(*, prefix: str, now: datetime) -> str:
    """Allocate the next ticket number of the day (Asia/Shanghai), atomically across instances."""
    day = now.astimezone(SHANGHAI).strftime("%Y%m%d")
    doc = database()[TicketSequence._get_collection_name()].find_one_and_update(
        {"_id": f"{prefix}-{day}"},
        {"$inc": {"value": 1}},
        upsert=True,
        return_document=ReturnDocument.AFTER,
    )
    return f"{prefix}-{day}-{doc['value']:06d}"


def create_complaint(*, data: dict[str, Any], ticket_prefix: str, topic: str) -> Complaint:
    """Store a complaint and its ComplaintFiled event in one transaction."""
    now = utcnow()
    complaint = Complaint(
        id=new_id(),
        ticket=next_ticket(prefix=ticket_prefix, now=now),
        status="filed",
        category=data["category"],
        category_inferred=data.get("category_inferred", False),
        category_confidence=data.get("category_confidence"),
        priority=data.get("priority", "normal"),
        platform=data["platform"],
        merchant=data["merchant"],
        complainant=data["complainant"],
        order=data["order"],
        description=data.get("description", {}),
        demand=data["demand"],
        filed_at=now,
        updated_at=now,
        trace_id=current_trace_id(),
        timeline=[TimelineEntry(event_id=new_id(), at=now, service="intake", step="filed",
                                detail={"ticket_category": data["category"]})],
    )
    event = filed_event(complaint)

    def work(tx: Tx) -> None:
        tx.insert(complaint)
        emit(tx, topic=topic, messages=[event])

    transaction(work)
    return complaint


def filed_event(complaint: Complaint) -> ComplaintFiled:
    """The ComplaintFiled event of a stored complaint."""
    order = complaint.order
    return ComplaintFiled(
        complaint_id=complaint.id,
        ticket=complaint.ticket,
        occurred_at=complaint.filed_at,
        platform=complaint.platform,
        merchant=Party(**complaint.merchant),
        complainant=Complainant(**complaint.complainant),
        category=complaint.category,
        category_inferred=complaint.category_inferred,
        priority=complaint.priority,
        order=OrderSummary(**order),
        demand=complaint.demand,
        filed_at=complaint.filed_at,
    )


def get_complaint(*, ticket: str) -> Complaint | None:
    """The complaint with this ticket number, or None."""
    return Complaint.objects(ticket=ticket).first()


def record_step(
    *, event: Event, service: str, step: str, detail: dict[str, Any] | None = None,
    status: str | None = None, tier: str | None = None,
) -> bool:
    """Append another service's step to the timeline once per event id; False on a repeat."""
    entry = TimelineEntry(event_id=event.event_id, at=event.occurred_at, service=service,
                          step=step, detail=detail or {})
    changes: dict[str, Any] = {"$push": {"timeline": entry.to_mongo().to_dict()},
                               "$set": {"updated_at": utcnow()}}
    if status is not None:
        changes["$set"]["status"] = status
    if tier is not None:
        changes["$set"]["tier"] = tier
    # The $ne guard makes a redelivered event a no-op in the same single-document write.
    result = database()[Complaint._get_collection_name()].update_one(
        {"_id": event.complaint_id, "timeline.event_id": {"$ne": event.event_id}}, changes
    )
    return result.modified_count == 1
