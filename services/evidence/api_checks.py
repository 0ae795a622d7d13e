"""Evidence's checking routes: assessment, verification, card keys, payment records, dossier."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, HTTPException, Request
from fastapi.responses import StreamingResponse
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from services.evidence import access, cardkey_checks, channel, custody_log
from services.evidence.api_errors import not_found, refusal
from services.evidence.domain.errors import EvidenceRuleError
from services.evidence.export import export_dossier
from services.evidence.models import EvidenceItem
from services.evidence.service import EvidenceNotFound, find_file
from services.evidence.storage import iter_content
from services.evidence.verification import verify_items
from shared.app import unit_of_work
from shared.auth import Role
from shared.contracts.evidence import PaymentRecordPublished
from shared.http_auth import CurrentPrincipal
from shared.money import Money
from shared.store import UnitOfWork

router = APIRouter(tags=["evidence"])


@router.get("/v1/complaints/{ticket}/evidence/assessment",
            summary="Completeness score, what is missing and guidance in zh-CN and English")
def get_assessment(ticket: str, principal: CurrentPrincipal) -> dict[str, Any]:
    try:
        evidence_file = find_file(principal=principal, ticket=ticket)
        access.check_staff_or_owner(principal=principal, action="read the assessment")
    except EvidenceNotFound as exc:
        raise not_found(exc) from None
    except EvidenceRuleError as exc:
        raise refusal(exc) from None
    return {"ticket": ticket, "category": evidence_file.category,
            **(evidence_file.assessment or {"score": 0, "missing": [], "flags": []})}


@router.get("/v1/complaints/{ticket}/evidence/verify",
            summary="Recompute every file hash and custody chain; name what was tampered with")
def verify_evidence(ticket: str, principal: CurrentPrincipal, uow: Annotated[UnitOfWork, Depends(unit_of_work)]) -> dict[str, Any]:
    try:
        evidence_file = find_file(principal=principal, ticket=ticket)
        access.check_staff_or_owner(principal=principal, action="verify evidence")
    except EvidenceNotFound as exc:
        raise not_found(exc) from None
    except EvidenceRuleError as exc:
        raise refusal(exc) from None
    items = list(EvidenceItem.objects(complaint_id=evidence_file.id).order_by("number"))
    results = verify_items(uow, items=items, actor=custody_log.actor_of(principal=principal))
    tampered = [r for r in results if r["status"] != "intact"]
    return {"ticket": ticket, "intact": not tampered, "items": results,
            "tampered": [r["label"] for r in tampered]}


@router.post("/v1/complaints/{ticket}/evidence/{evidence_id}/card-key-check",
             summary="Ask the issuer whether a card key is valid, used or unknown")
async def check_card_key(ticket: str, evidence_id: str, principal: CurrentPrincipal,
                         request: Request, uow: Annotated[UnitOfWork, Depends(unit_of_work)], body: Any = Body(...)) -> dict[str, Any]:
    try:
        return await cardkey_checks.check_card_key(
            uow, settings=request.app.state.runtime.settings, principal=principal, ticket=ticket,
            evidence_id=evidence_id, body=body)
    except EvidenceNotFound as exc:
        raise not_found(exc) from None
    except EvidenceRuleError as exc:
        raise refusal(exc) from None
    except cardkey_checks.IssuerNotConfigured as exc:
        raise HTTPException(status_code=503, detail={"message": str(exc),
                                                     "message_zh": "未配置发卡方，无法校验卡密"})
    finally:
        request.app.state.runtime.relay.wake()


class PaymentRecordBody(BaseModel):
    """A payment record as a partner posts it."""

    model_config = ConfigDict(extra="forbid")

    source: str = Field(title="Channel or platform id", min_length=1, max_length=128)
    transaction_id: str = Field(title="The channel's transaction id", min_length=1,
                                max_length=128)
    order_number: str = Field(title="Order number", min_length=1, max_length=64)
    amount: Money = Field(title="Amount")
    status: str = Field(title="paid, refunded, closed, failed or pending",
                        pattern="^(paid|refunded|closed|failed|pending)$")
    at: AwareDatetime = Field(title="When the status was reached")


@router.post("/v1/payment-records", status_code=202, tags=["payment records"],
             summary="A channel or platform publishes what it knows of a transaction")
def create_payment_record(body: PaymentRecordBody, principal: CurrentPrincipal,
                          request: Request, uow: Annotated[UnitOfWork, Depends(unit_of_work)]) -> dict[str, Any]:
    if principal.role not in (Role.PARTNER, Role.AGENT):
        raise HTTPException(status_code=403, detail={
            "field": "role", "rule": "partner_or_agent",
            "message": "only partners and agents publish payment records",
            "message_zh": "只有合作方或平台客服可以提交支付记录"})
    settings = request.app.state.runtime.settings
    message = PaymentRecordPublished(**body.model_dump())
    checked = channel.apply_record(uow, message=message, topic=settings.topics.evidence_events,
                                   consumer=f"{settings.service_name}-http",
                                   window=timedelta(hours=settings.relevance_window_hours),
                                   posted_by={"via": "http", "subject": principal.subject,
                                              "role": principal.role.value,
                                              "platform": principal.platform})
    request.app.state.runtime.relay.wake()
    return {"transaction_id": body.transaction_id, "proofs_checked": checked}


@router.get("/v1/complaints/{ticket}/dossier", response_class=StreamingResponse,
            summary="ZIP for a payment channel or regulator: manifest, files, complaint text")
def get_dossier(ticket: str, principal: CurrentPrincipal, uow: Annotated[UnitOfWork, Depends(unit_of_work)]) -> StreamingResponse:
    try:
        archive, name = export_dossier(uow, principal=principal, ticket=ticket)
    except EvidenceNotFound as exc:
        raise not_found(exc) from None
    except EvidenceRuleError as exc:
        raise refusal(exc) from None
    return StreamingResponse(iter_content(stream=archive), media_type="application/zip",
                             headers={"Content-Disposition": f'attachment; filename="{name}"',
                                      "X-Content-Type-Options": "nosniff"})
