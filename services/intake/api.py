"""Intake's HTTP routes: file a complaint, read it with its timeline, read its trace."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException, Request, status
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from services.intake import service
from services.intake.config import IntakeSettings
from services.intake.models import Complaint
from shared.masking import mask_email, mask_phone
from shared.telemetry import read_trace

router = APIRouter(prefix="/v1/complaints", tags=["complaints"])


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class MoneyIn(_In):
    amount_minor: int = Field(gt=0)
    currency: str = Field(pattern=r"^[A-Z]{3}$")


class OrderIn(_In):
    order_number: str = Field(min_length=1, max_length=64)
    item: str = Field("", max_length=200)
    amount: MoneyIn
    paid_at: AwareDatetime | None = None
    payment_channel: str = "other"
    payment_transaction_id: str | None = Field(None, max_length=128)


class ComplaintIn(_In):
    platform: str = Field(min_length=1, max_length=128)
    merchant: dict[str, str]
    complainant: dict[str, str]
    category: str
    order: OrderIn
    description: dict[str, Any] = Field(default_factory=dict)
    demand: dict[str, Any]


def _settings(request: Request) -> IntakeSettings:
    return request.app.state.runtime.settings


def complaint_view(complaint: Complaint) -> dict[str, Any]:
    """The public view of a complaint (contact masked)."""
    complainant = dict(complaint.complainant)
    complainant["phone"] = mask_phone(complainant.get("phone"))
    complainant["email"] = mask_email(complainant.get("email"))
    return {
        "ticket": complaint.ticket,
        "status": complaint.status,
        "tier": complaint.tier,
        "category": complaint.category,
        "priority": complaint.priority,
        "platform": complaint.platform,
        "merchant": complaint.merchant,
        "complainant": complainant,
        "order": complaint.order,
        "demand": complaint.demand,
        "filed_at": complaint.filed_at,
        "updated_at": complaint.updated_at,
        "trace_id": complaint.trace_id,
        "timeline": [
            {"at": e.at, "service": e.service, "step": e.step, "detail": e.detail}
            for e in sorted(complaint.timeline, key=lambda e: e.at)
        ],
    }


@router.post("", status_code=status.HTTP_201_CREATED, summary="File a complaint")
def file_complaint(body: ComplaintIn, request: Request) -> dict[str, Any]:
    settings = _settings(request)
    complaint = service.create_complaint(
        data=body.model_dump(mode="json"), ticket_prefix=settings.ticket_prefix,
        topic=settings.topics.intake_events,
    )
    request.app.state.runtime.relay.wake()
    return complaint_view(complaint)


@router.get("/{ticket}", summary="A complaint with its status and timeline")
def get_complaint(ticket: str) -> dict[str, Any]:
    complaint = service.get_complaint(ticket=ticket)
    if complaint is None:
        raise HTTPException(status_code=404, detail=f"no complaint {ticket}")
    return complaint_view(complaint)


@router.get("/{ticket}/trace", summary="Every span of the complaint's one trace")
def get_trace(ticket: str, request: Request) -> dict[str, Any]:
    complaint = service.get_complaint(ticket=ticket)
    if complaint is None or not complaint.trace_id:
        raise HTTPException(status_code=404, detail=f"no complaint {ticket}")
    settings = _settings(request)
    spans = read_trace(uri=settings.mongodb_uri, db=settings.telemetry_db,
                       trace_id=complaint.trace_id, timeout_ms=settings.mongodb_timeout_ms)
    return {"ticket": ticket, "trace_id": complaint.trace_id,
            "services": sorted({s["service"] for s in spans if s.get("service")}),
            "spans": spans}
