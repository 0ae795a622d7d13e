"""Evidence's checking routes: assessment, verification, card-key re-validation, dossier."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, HTTPException, Request
from fastapi.responses import StreamingResponse

from services.evidence.api.errors import not_found, refusal
from services.evidence.api.views import assessment_view
from services.evidence.domain.errors import EvidenceRuleError
from services.evidence.domain.hashing import iter_content
from services.evidence.service import cardkeys, reading, verification
from services.evidence.service.export import export_dossier
from services.evidence.service.files import EvidenceNotFound
from shared.app import unit_of_work
from shared.auth import Role
from shared.http_auth import CurrentPrincipal
from shared.store import UnitOfWork

router = APIRouter(tags=["evidence"])


@router.get("/v1/complaints/{ticket}/evidence/assessment",
            summary="Completeness score, what is missing and guidance in zh-CN and English; the "
                    "merchant's side of the burden of proof (merchants read only that side)")
def get_assessment(ticket: str, principal: CurrentPrincipal) -> dict[str, Any]:
    try:
        evidence_file = reading.get_assessed_file(principal=principal, ticket=ticket)
    except EvidenceNotFound as exc:
        raise not_found(exc) from None
    except EvidenceRuleError as exc:
        raise refusal(exc) from None
    return assessment_view(ticket=ticket, category=evidence_file.category,
                           assessment=evidence_file.assessment,
                           merchant=principal.role is Role.MERCHANT)


@router.get("/v1/complaints/{ticket}/evidence/verify",
            summary="Recompute every file hash and custody chain; name what was tampered with")
def verify_evidence(ticket: str, principal: CurrentPrincipal,
                    uow: Annotated[UnitOfWork, Depends(unit_of_work)]) -> dict[str, Any]:
    try:
        return verification.verify_evidence(uow, principal=principal, ticket=ticket)
    except EvidenceNotFound as exc:
        raise not_found(exc) from None
    except EvidenceRuleError as exc:
        raise refusal(exc) from None


@router.post("/v1/complaints/{ticket}/evidence/{evidence_id}/card-key-check",
             summary="Ask the issuer whether a card key is valid, used or unknown")
async def check_card_key(ticket: str, evidence_id: str, principal: CurrentPrincipal,
                         request: Request, uow: Annotated[UnitOfWork, Depends(unit_of_work)],
                         body: Any = Body(...)) -> dict[str, Any]:
    try:
        return await cardkeys.check_card_key(
            uow, settings=request.app.state.runtime.settings, principal=principal, ticket=ticket,
            evidence_id=evidence_id, body=body)
    except EvidenceNotFound as exc:
        raise not_found(exc) from None
    except EvidenceRuleError as exc:
        raise refusal(exc) from None
    except cardkeys.IssuerNotConfigured as exc:
        raise HTTPException(status_code=503, headers={"Retry-After": "60"}, detail={
            "rule": "issuer_not_configured", "message": str(exc),
            "message_zh": "未配置发卡方，无法校验卡密"}) from None
    finally:
        request.app.state.runtime.relay.wake()


@router.get("/v1/complaints/{ticket}/dossier", response_class=StreamingResponse,
            summary="ZIP for a payment channel or regulator: manifest, files, complaint text")
def get_dossier(ticket: str, principal: CurrentPrincipal,
                uow: Annotated[UnitOfWork, Depends(unit_of_work)]) -> StreamingResponse:
    try:
        archive, name = export_dossier(uow, principal=principal, ticket=ticket)
    except EvidenceNotFound as exc:
        raise not_found(exc) from None
    except EvidenceRuleError as exc:
        raise refusal(exc) from None
    return StreamingResponse(iter_content(stream=archive), media_type="application/zip",
                             headers={"Content-Disposition": f'attachment; filename="{name}"',
                                      "X-Content-Type-Options": "nosniff"})
