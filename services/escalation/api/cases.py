"""Case routes: read a case with who must act now, and take actions on it."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Body, Request

from services.escalation.api.errors import not_found, refusal
from services.escalation.domain.actions import (
    Action, ActionInvalid, ActionNotPermitted, IllegalTransition,
)
from services.escalation.service import acting, views
from services.escalation.service.acting import ActionRequest, CaseNotFound, TierRefused
from services.escalation.service.steps import CaseChanged
from services.escalation.service.rules import party_of
from shared.http_auth import CurrentPrincipal

router = APIRouter(prefix="/v1/cases", tags=["cases"])
_REFUSALS = (ActionNotPermitted, IllegalTransition, TierRefused, ActionInvalid, CaseChanged)
_ERRORS = {403: {"description": "This party may not take the action"},
           404: {"description": "No such case in the caller's scope"},
           409: {"description": "Not allowed now: the allowed states are listed, or the tier guard "
                            "names what is missing"},
           422: {"description": "A field is missing or breaks a rule (names the field and the rule)"}}


@router.get("/{ticket}", summary="The case: state, tier, clocks and who must act now",
            responses={404: _ERRORS[404]})
def get_case(ticket: str, request: Request, principal: CurrentPrincipal) -> dict[str, Any]:
    doc = views.find_case(ticket=ticket, principal=principal)
    if doc is None:
        raise not_found(ticket)
    return views.case_view(doc=doc, rules=request.app.state.rules)


@router.post("/{ticket}/actions/{action}", summary="Take an action on the case", responses=_ERRORS)
def take_action(ticket: str, action: Action, request: Request, principal: CurrentPrincipal,
                body: ActionRequest = Body(default_factory=ActionRequest)) -> dict[str, Any]:
    runtime, rules = request.app.state.runtime, request.app.state.rules
    try:
        doc = acting.act(ticket=ticket, action=action, principal=principal,
                         actor=party_of(principal=principal), request=body, rules=rules,
                         topic=runtime.settings.topics.escalation_events)
    except CaseNotFound:
        raise not_found(ticket) from None
    except _REFUSALS as exc:
        raise refusal(exc) from exc
    runtime.relay.wake()
    request.app.state.timers.wake()
    return views.case_view(doc=doc, rules=rules)
