"""Changing a complaint: the complainant's statements and withdrawal, an agent's category correction."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Request
from fastapi.responses import JSONResponse

from services.intake import service
from services.intake.api import examples
from services.intake.api.errors import ERROR_ANSWERS, not_found, refuse
from services.intake.api.idempotency import IdempotencyKey, first_answer, keyed
from services.intake.api.reading import Ticket
from services.intake.api.views import complaint_view, visible
from services.intake.domain.schemas import CategoryCorrection, NewStatement, Withdrawal
from services.intake.models import Complaint
from services.intake.service.replays import StoredAnswer, answer_recorder
from shared.auth import Principal, Role
from shared.http_auth import CurrentPrincipal

router = APIRouter(prefix="/v1/complaints", tags=["complaints"], responses=ERROR_ANSWERS)
_CLOSED: dict[int | str, dict[str, Any]] = {409: {"description": "The complaint is withdrawn, resolved or closed"}}


def _load(ticket: str, principal: Principal, *, role: Role) -> Complaint:
    complaint = service.get_complaint(ticket=ticket)
    if not visible(principal=principal, complaint=complaint):
        not_found(ticket)
    assert complaint is not None
    if principal.role is not role:
        refuse(403, reason="not_allowed", en=f"Only the {role.value} may do this",
               zh="您无权执行此操作" if role is Role.AGENT else "只有投诉人本人可以执行此操作")
    return complaint


def _replayed(stored: StoredAnswer | None) -> JSONResponse:
    assert stored is not None
    return JSONResponse(stored.body, status_code=stored.status_code, headers={"Idempotent-Replayed": "true"})


def _view(ticket: str, principal: Principal) -> dict[str, Any]:
    """The complaint as it is after the change."""
    complaint = service.get_complaint(ticket=ticket)
    assert complaint is not None  # changed just now: it exists
    return complaint_view(complaint, principal=principal, timeline=service.steps_of(complaint))


def _closed(ticket: str) -> None:
    refuse(409, reason="not_open", en=f"complaint {ticket} is no longer open", zh=f"投诉 {ticket} 已结束，不能再修改")


@router.post("/{ticket}/statements", status_code=201, summary="Add a statement (补充陈述)",
             responses={201: examples.answer("The statement's number", ("已添加", {"ticket": "CP-20261123-000123",
                                             "statement": 1}), ("Added", {"ticket": "CP-20261123-000124",
                                                                           "statement": 1})),
                        404: examples.not_found(), **_CLOSED})
def add_statement(ticket: Ticket, body: Annotated[NewStatement, Body(openapi_examples=examples.STATEMENT)],
                  principal: CurrentPrincipal, request: Request,
                  idempotency_key: IdempotencyKey = None) -> JSONResponse:
    """The complainant adds a further statement to an open complaint; a keyed retry adds nothing."""
    complaint = _load(ticket, principal, role=Role.COMPLAINANT)
    runtime = request.app.state.runtime
    retry = keyed(principal=principal, header=idempotency_key, body=body, route=f"POST statements {ticket}")
    stored = first_answer(retry) if retry is not None else None
    if stored is not None:
        return _replayed(stored)
    answer = None if retry is None else answer_recorder(
        key=retry.key, fingerprint=retry.fingerprint, render=lambda n: (201, {"ticket": ticket, "statement": n}))
    try:
        number = service.add_statement(runtime.unit(), complaint=complaint, statement=body, by=principal.subject,
                                       topic=runtime.settings.topics.intake_events, answer=answer)
    except service.NotOpen:
        _closed(ticket)
    except service.AnswerExists:
        assert retry is not None  # a copy of this request won the race: give its answer
        return _replayed(first_answer(retry))
    runtime.relay.wake()
    return JSONResponse({"ticket": ticket, "statement": number}, status_code=201)


@router.post("/{ticket}/withdraw", summary="Withdraw a complaint (撤诉)",
             responses={200: examples.answer("The withdrawn complaint", ("已撤诉", examples.VIEW_ZH | {
                 "status": "withdrawn"}), ("Withdrawn", examples.VIEW_EN | {"status": "withdrawn"})),
                 404: examples.not_found(), **_CLOSED})
def withdraw(ticket: Ticket, body: Annotated[Withdrawal, Body(openapi_examples=examples.WITHDRAWAL)],
             principal: CurrentPrincipal, request: Request) -> dict[str, Any]:
    """The complainant withdraws an open complaint."""
    complaint = _load(ticket, principal, role=Role.COMPLAINANT)
    runtime = request.app.state.runtime
    try:
        service.withdraw_complaint(runtime.unit(), complaint=complaint, withdrawal=body,
                                   topic=runtime.settings.topics.intake_events, by=principal.subject)
    except service.NotOpen:
        _closed(ticket)
    runtime.relay.wake()
    return _view(ticket, principal)


@router.put("/{ticket}/category", summary="Correct the category (agents) (更正投诉类型)",
            responses={200: examples.answer("The corrected complaint", ("已更正", examples.VIEW_ZH | {
                "category": "unauthorized-charge"}), ("Corrected", examples.VIEW_EN | {"category": "not-delivered"})),
                404: examples.not_found(), **_CLOSED})
def correct_category(ticket: Ticket, body: Annotated[CategoryCorrection, Body(openapi_examples=examples.CORRECTION)],
                     principal: CurrentPrincipal, request: Request) -> dict[str, Any]:
    """An agent of the complaint's platform sets the right category; the priority follows."""
    complaint = _load(ticket, principal, role=Role.AGENT)
    runtime = request.app.state.runtime
    try:
        service.correct_category(runtime.unit(), complaint=complaint, category=body.category, by=principal.subject,
                                 note=body.note, topic=runtime.settings.topics.intake_events)
    except service.NotOpen:
        _closed(ticket)
    except service.OpenTwin as twin:
        refuse(409, reason="open_twin", en=f"complaint {twin.ticket} is already open for this order and category",
               zh=f"该订单同类投诉 {twin.ticket} 尚未结束")
    runtime.relay.wake()
    return _view(ticket, principal)
