"""Parties' actions on a case (HTTP and events), with the tier guard in front of escalation."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from pydantic import BaseModel, ConfigDict

from services.escalation.domain.actions import (
    Action, ActionInvalid, IllegalTransition, MerchantDecision,
)
from services.escalation.domain.guards import TierCheck, check_tier
from services.escalation.domain.routing import next_tier
from services.escalation.domain.states import CaseStatus, Resolution, State
from services.escalation.domain.terms import Party
from services.escalation.domain.transitions import perform
from services.escalation.repository import cases
from services.escalation.service.rules import Rules, in_scope
from services.escalation.service.steps import route_of, save_step, status_of
from shared.auth import Principal
from shared.contracts.escalation import CaseAssigned
from shared.contracts.vocabulary import Tier
from shared.envelope import Event, utcnow
from shared.ledger import apply_once
from shared.store import UnitOfWork


class CaseNotFound(LookupError):
    """No case with that ticket in the caller's scope (HTTP 404)."""


class TierRefused(Exception):
    """The tier guard refused the move (HTTP 409); carries what is missing, in two languages."""

    def __init__(self, check: TierCheck) -> None:
        self.check = check
        super().__init__(check.text_en)


class ActionRequest(BaseModel):
    """What an action may carry; each action reads the fields it needs."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    reason: str = ""
    resolution: Resolution | None = None
    decision: MerchantDecision | None = None
    target: Tier | None = None
    items: tuple[str, ...] = ()
    reference: str = ""
    agent_id: str | None = None


def guard_tier(*, doc: dict[str, Any], status: CaseStatus, action: Action, target: Tier | None,
               rules: Rules) -> Tier | None:
    """The tier an escalation or external filing would enter; raises TierRefused when not allowed."""
    r = route_of(doc)
    if action is Action.ESCALATE:
        tier = target or next_tier(route=r, current=status.tier)
    elif action is Action.RECORD_EXTERNAL_FILING and status.tier.rank < Tier.EXTERNAL.rank:
        tier = Tier.EXTERNAL
    else:
        return target
    if tier is None or tier.rank <= status.tier.rank:
        return tier  # the state machine answers with the allowed states
    check = check_tier(policy=rules.policy, route=r, tier=tier, refusal_record=doc.get("refusal_record", False),
                       closed_ticket=doc.get("closed_ticket", False),
                       breached_clocks=frozenset(doc.get("breached_clocks", [])))
    if not check.allowed:
        raise TierRefused(check)
    return tier


def take_action(tx: UnitOfWork, *, doc: dict[str, Any], action: Action, actor: Party, request: ActionRequest,
                rules: Rules, topic: str, actor_id: str = "") -> dict[str, Any]:
    """Perform one action on a loaded case inside a transaction; returns the updated case."""
    status, now = status_of(doc), utcnow()
    target = guard_tier(doc=doc, status=status, action=action, target=request.target, rules=rules)
    step = perform(status=status, action=action, actor=actor, at=now, reason=request.reason,
                   resolution=request.resolution, decision=request.decision, target=target,
                   items=request.items, reference=request.reference, reopen_window=rules.reopen_window)
    after: Sequence[Event] = ()
    fields: dict[str, Any] = {}
    if action is Action.ASSIGN:
        agent = (request.agent_id or actor_id).strip()
        if not agent:
            raise ActionInvalid(field="agent_id", rule="name the agent who takes the case")
        fields["assigned_agent"] = agent
        after = [CaseAssigned(complaint_id=doc["_id"], ticket=doc["ticket"], agent_id=agent,
                              assigned_by=actor_id)]
    return save_step(tx, doc=doc, step=step, rules=rules, topic=topic, actor_id=actor_id,
                     after=after, fields=fields)


def act(uow: UnitOfWork, *, ticket: str, action: Action, principal: Principal, actor: Party, request: ActionRequest,
        rules: Rules, topic: str, record: Callable[[UnitOfWork, dict[str, Any]], None] | None = None) -> dict[str, Any]:
    """An HTTP caller's action on a case in its scope; raises the domain's errors or CaseNotFound.

    record, when given, stores the answer in the same transaction (Idempotency-Key replays)."""

    def work(tx: UnitOfWork) -> dict[str, Any]:
        doc = cases.get_case(tx, ticket=ticket)
        if doc is None or not in_scope(principal=principal, case=doc):
            raise CaseNotFound(ticket)
        done = take_action(tx, doc=doc, action=action, actor=actor, request=request, rules=rules,
                           topic=topic, actor_id=principal.subject)
        if record is not None:
            record(tx, done)
        return done

    return uow.transaction(work)


def apply_party_event(uow: UnitOfWork, *, event: Event, action: Action, only_in: frozenset[State] | None,
                      request: ActionRequest, rules: Rules, topic: str, consumer: str,
                      actor_id: str) -> None:
    """Apply an action another service reported (withdrawal, evidence); no-op when it does not apply."""

    def work(tx: UnitOfWork) -> None:
        doc = cases.get_case(tx, complaint_id=event.complaint_id)
        if doc is None:
            return
        if only_in is not None and doc["state"] not in only_in:
            return
        try:
            take_action(tx, doc=doc, action=action, actor=Party.COMPLAINANT, request=request,
                        rules=rules, topic=topic, actor_id=actor_id)
        except IllegalTransition:
            return  # e.g. a withdrawal of a case that is already finished

    apply_once(uow, consumer=consumer, event=event, work=work)
