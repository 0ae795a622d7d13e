"""POST /v1/complaints: file a complaint, deduplicated, with Idempotency-Key replays."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Request
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse

from services.intake import service
from services.intake.api import examples
from services.intake.api.errors import ERROR_ANSWERS, FieldErrors, refuse
from services.intake.api.idempotency import IdempotencyKey, first_answer, keyed
from services.intake.api.views import complaint_view, filed_by
from services.intake.domain.schemas import NewComplaint
from services.intake.service.replays import StoredAnswer, answer_recorder
from shared.auth import Principal, can_file
from shared.http_auth import CurrentPrincipal

router = APIRouter(prefix="/v1/complaints", tags=["complaints"], responses=ERROR_ANSWERS)
EXISTED_HEADER = "Complaint-Already-Existed"


def _render(filing: service.Filing, principal: Principal) -> tuple[int, dict[str, Any]]:
    # A complaint just filed has only its own first step; one that existed may have more.
    view = complaint_view(filing.complaint, principal=principal,
                          timeline=service.steps_of(filing.complaint, others=filing.already_existed))
    return ((200 if filing.already_existed else 201),
            jsonable_encoder(view | {"already_existed": filing.already_existed}))


def _respond(status_code: int, body: dict[str, Any], *, replayed: bool = False) -> JSONResponse:
    headers = {"Location": f"/v1/complaints/{body['ticket']}",
               EXISTED_HEADER: "true" if body.get("already_existed") else "false"}
    if replayed:
        headers["Idempotent-Replayed"] = "true"
    return JSONResponse(body, status_code=status_code, headers=headers)


def _replay(stored: StoredAnswer) -> JSONResponse:
    return _respond(stored.status_code, stored.body, replayed=True)


@router.post(
    "", status_code=201, summary="File a complaint (受理投诉)",
    responses={201: examples.answer("Filed: the complaint with its ticket number", ("已受理", examples.VIEW_ZH),
                                    ("Filed", examples.VIEW_EN)),
               200: examples.answer("Already filed and open: the existing complaint (already_existed true)",
                                    ("已存在", examples.VIEW_ZH | {"already_existed": True}),
                                    ("Already existed", examples.VIEW_EN | {"already_existed": True})),
               403: {"description": "The caller may not file for this complainant or platform"}},
)
def file_complaint(
    body: Annotated[NewComplaint, Body(openapi_examples=examples.NEW_COMPLAINT)],
    principal: CurrentPrincipal, request: Request, idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    """File a structured complaint; the category is inferred from the text when left out."""
    if not can_file(principal=principal, complainant_id=body.complainant.id, platform=body.platform):
        refuse(403, reason="not_allowed", en="You may not file for this complainant or platform",
               zh="您无权为该投诉人或平台提交投诉")
    runtime = request.app.state.runtime
    retry = keyed(principal=principal, header=idempotency_key, body=body, route="POST /v1/complaints")
    answer = None
    if retry is not None:
        stored = first_answer(retry)
        if stored is not None:
            return _replay(stored)
        answer = answer_recorder(key=retry.key, fingerprint=retry.fingerprint, render=lambda f: _render(f, principal))
    try:
        filing = service.file_complaint(runtime.unit(), desk=request.app.state.desk, request=body,
                                        settings=runtime.settings, filed_by=filed_by(principal), answer=answer)
    except service.DemandRefused as refused:
        raise FieldErrors(field=refused.field, rule=refused.rule, en=refused.en, zh=refused.zh) from refused
    except service.AnswerExists:
        assert retry is not None
        stored = first_answer(retry)
        assert stored is not None
        return _replay(stored)
    runtime.relay.wake()
    return _respond(*_render(filing, principal))
