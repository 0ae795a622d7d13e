"""Evidence's HTTP routes: the file, submitting, listing and downloading evidence."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, File, Form, Request, UploadFile
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse, StreamingResponse

from services.evidence.api.errors import not_found, refusal
from services.evidence.api.views import item_view
from services.evidence.domain.errors import EvidenceRuleError
from services.evidence.domain.hashing import iter_content
from services.evidence.service import access, reading
from services.evidence.service.files import EvidenceNotFound, find_file
from services.evidence.service.submissions import Limits, submit
from shared.app import unit_of_work
from shared.http_auth import CurrentPrincipal
from shared.store import UnitOfWork

router = APIRouter(prefix="/v1/complaints", tags=["evidence"])


@router.get("/{ticket}/evidence-file", summary="The complaint's evidence file")
def get_evidence_file(ticket: str, principal: CurrentPrincipal) -> dict[str, Any]:
    try:
        evidence_file = find_file(principal=principal, ticket=ticket)
    except EvidenceNotFound as exc:
        raise not_found(exc) from None
    return {"ticket": evidence_file.ticket, "status": evidence_file.status,
            "category": evidence_file.category, "required_kinds": evidence_file.required_kinds,
            "opened_at": evidence_file.opened_at}


@router.post("/{ticket}/evidence", status_code=201, summary="Submit one piece of evidence",
             responses={200: {"description": "Same content already in this complaint: linked"},
                        409: {"description": "Complaint closed or withdrawn"},
                        413: {"description": "File or complaint too large"},
                        415: {"description": "File type not allowed (by magic bytes)"}})
def create_evidence(ticket: str, principal: CurrentPrincipal, request: Request,
                    uow: Annotated[UnitOfWork, Depends(unit_of_work)],
                    file: Annotated[UploadFile, File(description="The evidence file")],
                    kind: Annotated[str, Form(description="payment_proof, order_record, …")],
                    fields: Annotated[str, Form(description="JSON object of the kind's "
                                                            "structured fields")] = "{}",
                    ) -> JSONResponse:
    settings = request.app.state.runtime.settings
    limits = Limits(max_file_bytes=settings.max_file_bytes,
                    max_complaint_bytes=settings.max_complaint_bytes,
                    window=timedelta(hours=settings.relevance_window_hours))
    try:
        item, created = submit(uow, principal=principal, ticket=ticket, kind=kind,
                               fields_text=fields, filename=file.filename or "",
                               source=file.file, limits=limits,
                               topic=settings.topics.evidence_events)
    except EvidenceNotFound as exc:
        raise not_found(exc) from None
    except EvidenceRuleError as exc:
        raise refusal(exc) from None
    if created:
        request.app.state.runtime.relay.wake()
    if access.visible(principal=principal, items=[item]):
        body = item_view(item=item) | {"linked": not created}
    else:  # the other side's item: the caller learns only that this content is already in
        body = {"number": item.number, "label": f"证据{item.number}", "sha256": item.sha256,
                "linked": True}
    return JSONResponse(jsonable_encoder(body), status_code=201 if created else 200)


@router.get("/{ticket}/evidence", summary="The complaint's evidence, numbered 证据1, 证据2 …")
def list_evidence(ticket: str, principal: CurrentPrincipal,
                  uow: Annotated[UnitOfWork, Depends(unit_of_work)]) -> dict[str, Any]:
    try:
        evidence_file, items = reading.list_evidence(uow, principal=principal, ticket=ticket)
    except EvidenceNotFound as exc:
        raise not_found(exc) from None
    return {"ticket": ticket, "status": evidence_file.status,
            "items": [item_view(item=i) for i in items]}


@router.get("/{ticket}/evidence/{evidence_id}/content", summary="Download one item's file",
            response_class=StreamingResponse)
def get_evidence_content(ticket: str, evidence_id: str, principal: CurrentPrincipal,
                         uow: Annotated[UnitOfWork, Depends(unit_of_work)]) -> StreamingResponse:
    try:
        item, stream = reading.open_evidence(uow, principal=principal, ticket=ticket,
                                             evidence_id=evidence_id)
    except EvidenceNotFound as exc:
        raise not_found(exc) from None
    name = f"证据{item.number}-{item.kind}.{item.extension}"  # our name, the proven type
    return StreamingResponse(iter_content(stream=stream), media_type=item.mime, headers={
        "X-Content-Type-Options": "nosniff", "Content-Length": str(item.size),
        "Content-Disposition": f"attachment; filename*=UTF-8''{quote(name)}",
        "X-Evidence-SHA256": item.sha256})
