"""Case routes: read a case with who must act now, and take actions on it."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Header, Request
from fastapi.responses import JSONResponse
from pydantic_core import to_jsonable_python

from services.escalation.api.errors import not_found, refusal
from services.escalation.domain.actions import (
    Action,
    ActionInvalid,
    ActionNotPermitted,
    IllegalTransition,
)
from services.escalation.domain.evidence_gate import EvidenceMissing
from services.escalation.repository.cases import CaseChanged
from services.escalation.service import acting, views
from services.escalation.service.acting import ActionRequest, CaseNotFound, TierRefused
from services.escalation.service.rules import party_of
from shared.auth import Principal
from shared.http_auth import CurrentPrincipal
from shared.idempotency import (
    IdempotencyKeyError,
    Keyed,
    KeyReused,
    StoredAnswer,
    first_answer,
    keyed,
    store_answer,
)
from shared.openapi import field_refusal
from shared.store import DuplicateKey, UnitOfWork

router = APIRouter(prefix="/v1/cases", tags=["cases"])
IdempotencyKey = Annotated[str | None, Header(
    alias="Idempotency-Key",
    description="重试时使用同一键，得到首次的答复，操作不会执行两次。"
                "Reuse on retries: the first answer comes back and the action is not taken twice.",
)]
_REFUSALS = (ActionNotPermitted, IllegalTransition, TierRefused, ActionInvalid, CaseChanged, EvidenceMissing)
_ERRORS: dict[int | str, dict[str, Any]] = {403: {"description": "This party may not take the action"},
           404: {"description": "No such case in the caller's scope"},
           409: {"description": "Not allowed now: the allowed states are listed, the tier guard "
                            "names what is missing, or a money offer lacks required evidence "
                            "(rule evidence_missing; send override_missing_evidence with a reason)"},
           422: {"description": "A field is missing or breaks a rule (names the field and the rule)"}}


@router.get("/{ticket}", summary="The case: state, tier, clocks and who must act now",
            responses={404: _ERRORS[404]})
def get_case(ticket: str, request: Request, principal: CurrentPrincipal) -> dict[str, Any]:
    doc = views.find_case(request.app.state.runtime.unit(), ticket=ticket, principal=principal)
    if doc is None:
        raise not_found(ticket)
    return views.case_view(doc=doc, rules=request.app.state.rules)


@router.post("/{ticket}/actions/{action}", summary="Take an action on the case", responses=_ERRORS,
             response_model=dict[str, Any])
def take_action(ticket: str, action: Action, request: Request, principal: CurrentPrincipal,
                body: ActionRequest = Body(default_factory=ActionRequest),
                idempotency_key: IdempotencyKey = None) -> Any:
    runtime, rules = request.app.state.runtime, request.app.state.rules
    retry = _keyed(principal=principal, header=idempotency_key, body=body, route=f"{ticket}/{action.value}")
    if retry is not None and (stored := _first_answer(retry)) is not None:
        return _replay(stored)

    def record(tx: UnitOfWork, doc: dict[str, Any]) -> None:
        if retry is not None:
            store_answer(tx, key=retry.key, fingerprint=retry.fingerprint, status_code=200,
                         body=to_jsonable_python(views.case_view(doc=doc, rules=rules)))

    try:
        doc = acting.act(runtime.unit(), ticket=ticket, action=action, principal=principal,
                         actor=party_of(principal=principal), request=body, rules=rules,
                         topic=runtime.settings.topics.escalation_events, record=record)
    except CaseNotFound:
        raise not_found(ticket) from None
    except DuplicateKey:
        # The same key raced in twice: the first one's answer is stored now.
        if retry is None or (stored := _first_answer(retry)) is None:
            raise
        return _replay(stored)
    except _REFUSALS as exc:
        # A concurrent retry under the same key loses the race on the case: give it the winner's answer.
        if retry is not None and (stored := _first_answer(retry)) is not None:
            return _replay(stored)
        raise refusal(exc) from exc
    runtime.relay.wake()
    request.app.state.timers.wake()
    return views.case_view(doc=doc, rules=rules)


def _keyed(*, principal: Principal, header: str | None, body: ActionRequest, route: str) -> Keyed | None:
    try:
        return keyed(principal=principal, header=header, body=body, route=route)
    except IdempotencyKeyError as exc:
        raise field_refusal(field="Idempotency-Key", rule="idempotency_key", en=str(exc),
                            zh="幂等键须为 1 到 255 个可见 ASCII 字符") from exc


def _first_answer(retry: Keyed) -> StoredAnswer | None:
    try:
        return first_answer(retry)
    except KeyReused as exc:
        raise field_refusal(field="Idempotency-Key", rule="idempotency_key_reused",
                            en="This Idempotency-Key was used with a different action or body",
                            zh="该幂等键已用于不同的操作或内容") from exc


def _replay(stored: StoredAnswer) -> JSONResponse:
    return JSONResponse(stored.body, status_code=stored.status_code, headers={"Idempotent-Replayed": "true"})
