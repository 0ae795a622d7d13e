"""POST /v1/complaints: file a complaint, deduplicated, with Idempotency-Key replays."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Header, Request
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse

from services.intake import service
from services.intake.api import examples
from services.intake.api.errors import UNAUTHORIZED, FieldErrors, refuse
from services.intake.api.views import complaint_view, filed_by
from services.intake.domain.idempotency import IdempotencyKeyError, check_key, fingerprint
from services.intake.domain.schemas import NewComplaint
from services.intake.service.replays import StoredAnswer, answer_recorder, find_answer, key_id
from shared.auth import Principal, can_file
from shared.http_auth import CurrentPrincipal

router = APIRouter(prefix="/v1/complaints", tags=["complaints"], responses=UNAUTHORIZED)
ROUTE = "POST /v1/complaints"
EXISTED_HEADER = "Complaint-Already-Existed"


def _render(filing: service.Filing, principal: Principal) -> tuple[int, dict[str, Any]]:
    view = complaint_view(filing.complaint, principal=principal)
    return (200 if filing.already_existed else 201), jsonable_encoder(view | {"already_existed": filing.already_existed})


def _respond(status_code: int, body: dict[str, Any], *, replayed: bool = False) -> JSONResponse:
    headers = {"Location": f"/v1/complaints/{body['ticket']}",
               EXISTED_HEADER: "true" if body.get("already_existed") else "false"}
    if replayed:
        headers["Idempotent-Replayed"] = "true"
    return JSONResponse(body, status_code=status_code, headers=headers)


def _replay(stored: StoredAnswer, print_: str) -> JSONResponse:
    if stored.fingerprint != print_:
        raise FieldErrors(field="Idempotency-Key", rule="idempotency_key_reused",
                          en="This Idempotency-Key was used with a different request body",
                          zh="该幂等键已用于内容不同的请求")
    return _respond(stored.status_code, stored.body, replayed=True)


@router.post(
    "", status_code=201, summary="File a complaint (受理投诉)",
    responses={201: examples.answer("Filed: the complaint with its ticket number", ("已受理", examples.VIEW_ZH),
                                    ("Filed", examples.VIEW_EN)),
               200: examples.answer("Already filed and open: the existing complaint (already_existed true)",
                                    ("已存在", examples.VIEW_ZH | {"already_existed": True}),
                                    ("Already existed", examples.VIEW_EN | {"already_existed": True})),
               403: {"description": "The caller may not file for this complainant or platform"},
               422: examples.errors_answer()},
)
def file_complaint(
    body: Annotated[NewComplaint, Body(openapi_examples=examples.NEW_COMPLAINT)],
    principal: CurrentPrincipal, request: Request,
    idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key",
                                                  description="重试时使用同一键。Reuse on retries.")] = None,
) -> JSONResponse:
    """File a structured complaint; the category is inferred from the text when left out."""
    if not can_file(principal=principal, complainant_id=body.complainant.id, platform=body.platform):
        refuse(403, reason="not_allowed", en="You may not file for this complainant or platform",
               zh="您无权为该投诉人或平台提交投诉")
    runtime = request.app.state.runtime
    answer = key = print_ = None
    if idempotency_key is not None:
        try:
            check_key(key=idempotency_key)
        except IdempotencyKeyError as exc:
            raise FieldErrors(field="Idempotency-Key", rule="idempotency_key", en=str(exc),
                              zh="幂等键须为 1 到 255 个可见 ASCII 字符") from exc
        key = key_id(caller=f"{principal.role}:{principal.platform}:{principal.subject}", key=idempotency_key)
        print_ = fingerprint(body=body, route=ROUTE)
        stored = find_answer(key=key)
        if stored is not None:
            return _replay(stored, print_)
        answer = answer_recorder(key=key, fingerprint=print_, render=lambda f: _render(f, principal))
    try:
        filing = service.file_complaint(request=body, settings=runtime.settings, filed_by=filed_by(principal),
                                        answer=answer)
    except service.AnswerExists:
        stored = find_answer(key=str(key))
        assert stored is not None and print_ is not None
        return _replay(stored, print_)
    runtime.relay.wake()
    return _respond(*_render(filing, principal))
