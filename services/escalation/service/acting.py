"""Parties' actions on a case (HTTP and events), with the tier guard in front of escalation."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from pydantic import BaseModel, ConfigDict

from services.escalation.domain.actions import (
    Action,
    ActionInvalid,
    IllegalTransition,
    MerchantDecision,
)
from services.escalation.domain.evidence_gate import EvidenceOverride, gate
from services.escalation.domain.guards import TierCheck, check_tier
from services.escalation.domain.remedies import complete_offer, is_money, is_no_7day_return_refusal
from services.escalation.domain.routing import next_tier
from services.escalation.domain.states import FINISHED, CaseStatus, Outcome, Resolution, State
from services.escalation.domain.terms import Party
from services.escalation.domain.transitions import Step, perform
from services.escalation.repository import cases
from services.escalation.service.rules import Rules, in_scope
from services.escalation.service.steps import route_of, save_step, status_of
from shared.auth import Principal
from shared.contracts.escalation import AccountFreezeConfirmed, CaseAssigned, ComplaintStatusChanged
from shared.contracts.vocabulary import Category, Tier
from shared.envelope import Event, utcnow
from shared.ledger import apply_once
from shared.masking import scrub
from shared.money import Money
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
    override_missing_evidence: EvidenceOverride | None = None


#: The reason code of the event that tells the complainant a "virtual goods: no 7-day return"
#: refusal is no ground to refuse a refund for goods that do not work (notify labels it).
NO_7DAY_CODE = "refusal_no_7day_return_not_a_ground"
# Offers an agent makes are gated by the evidence; a merchant's own concession is not.
_GATED = frozenset({Action.PROPOSE_RESOLUTION, Action.RESOLVE})


def guard_tier(*, doc: dict[str, Any], status: CaseStatus, action: Action, target: Tier | None,
               rules: Rules) -> Tier | None:
    """The tier an escalation or external filing would enter; raises TierRefused when not allowed."""
    r = route_of(doc)
    if action is Action.ESCALATE:
        tier = target or next_tier(route=r, current=status.tier)
    else:  # an external filing the complainant made is always recorded (消法 §39): no guard
        return target
    if tier is None or tier.rank <= status.tier.rank:
        return tier  # the state machine answers with the allowed states
    check = check_tier(policy=rules.policy, route=r, tier=tier, refusal_record=doc.get("refusal_record", False),
                       closed_ticket=doc.get("closed_ticket", False),
                       breached_clocks=frozenset(doc.get("breached_clocks", [])))
    if not check.allowed:
        raise TierRefused(check)
    return tier


def internal_ended(*, doc: dict[str, Any], status: CaseStatus, rules: Rules) -> bool:
    """Whether internal handling has ended: the case is finished or above it, or failed provably."""
    if status.state in FINISHED or status.tier.rank > Tier.INTERNAL.rank:
        return True
    return check_tier(policy=rules.policy, route=route_of(doc), tier=Tier.EXTERNAL,
                      refusal_record=doc.get("refusal_record", False), closed_ticket=doc.get("closed_ticket", False),
                      breached_clocks=frozenset(doc.get("breached_clocks", []))).allowed


def with_money(*, step: Step, before: CaseStatus, doc: dict[str, Any], rules: Rules) -> Step:
    """The step with its offer's or outcome's money parts filled in (full refund, 退一赔三)."""
    price, category = Money.model_validate(doc["amount"]), Category(doc["category"])
    update = {}
    for name in ("offer", "outcome"):
        value = getattr(step.status, name)
        if value is not None and value != getattr(before, name):
            update[name] = complete_offer(resolution=value, price=price, category=category,
                                          terms=rules.policy.remedies)
    return step.model_copy(update={"status": step.status.model_copy(update=update)}) if update else step


def no_7day_refusal(*, doc: dict[str, Any], rules: Rules, texts: Sequence[str]) -> bool:
    """A "virtual goods: no 7-day return" refusal on a complaint about goods that do not work."""
    defective = doc["category"] in rules.policy.remedies.defective_goods_categories
    return defective and any(is_no_7day_return_refusal(t) for t in texts if t)


def refusal_recorded(*, doc: dict[str, Any], by: str, at: Any, state: str, tier: str, action: str,
                     fields: dict[str, Any]) -> Event:
    """Record the refusal as a failed internal answer; the event that tells the complainant why it is no ground."""
    fields["refusal_record"] = True
    fields["refusals"] = [*doc.get("refusals", []), {"at": at, "by": by, "ground": "no_7day_return_virtual_goods",
                                                     "not_a_ground": True}]
    return ComplaintStatusChanged(complaint_id=doc["_id"], ticket=doc["ticket"], from_state=state, to_state=state,
                                  tier=tier, reason=NO_7DAY_CODE, actor_role="system", action=action)


def take_action(tx: UnitOfWork, *, doc: dict[str, Any], action: Action, actor: Party, request: ActionRequest,
                rules: Rules, topic: str, actor_id: str = "", role: str = "") -> dict[str, Any]:
    """Perform one action on a loaded case inside a transaction; returns the updated case."""
    status, now = status_of(doc), utcnow()
    target = guard_tier(doc=doc, status=status, action=action, target=request.target, rules=rules)
    ended = internal_ended(doc=doc, status=status, rules=rules)
    step = perform(status=status, action=action, actor=actor, at=now, reason=request.reason,
                   resolution=request.resolution, decision=request.decision, target=target,
                   items=request.items, reference=request.reference, reopen_window=rules.reopen_window,
                   internal_ended=ended, freeze_confirmed=doc.get("freeze_confirmed_at") is not None)
    step = with_money(step=step, before=status, doc=doc, rules=rules)
    after: list[Event] = []
    fields: dict[str, Any] = {}
    note: dict[str, Any] = {}
    ids = {"complaint_id": doc["_id"], "ticket": doc["ticket"]}
    offered = step.status.outcome if action is Action.RESOLVE else step.status.offer
    if action in _GATED and actor is Party.AGENT and is_money(offered):
        assessment = doc.get("evidence_assessment") or {}
        overridden = gate(missing=assessment.get("missing", []), override=request.override_missing_evidence)
        if overridden:
            why = request.override_missing_evidence.reason.strip()  # type: ignore[union-attr]
            note["override_missing_evidence"] = {"reason": why, "missing": list(overridden)}
            fields["evidence_overrides"] = [*doc.get("evidence_overrides", []),
                                            {"at": now, "by": actor_id, "reason": why, "missing": list(overridden)}]
            reason = f"{step.reason}; " if step.reason else ""
            step = step.model_copy(update={
                "overridden_evidence": overridden,
                "reason": f"{reason}missing evidence overridden ({', '.join(overridden)}): {why}"})
    if action is Action.ASSIGN:
        agent = (request.agent_id or actor_id).strip()
        if not agent:
            raise ActionInvalid(field="agent_id", rule="name the agent who takes the case")
        fields["assigned_agent"] = agent
        after.append(CaseAssigned(**ids, agent_id=agent, assigned_by=actor_id))
    if action is Action.RECORD_EXTERNAL_FILING:
        note["before_internal_ended"] = not ended
        fields["external_filings"] = [*doc.get("external_filings", []), {
            "reference": step.status.external_references[-1], "at": now, "by": actor.value, "by_id": actor_id,
            "before_internal_ended": not ended}]
    if action is Action.CONFIRM_FREEZE:
        by = role or actor.value
        fields.update(freeze_confirmed_at=now, freeze_confirmed_by=by, freeze_note=scrub(request.reason)[:500])
        after.append(AccountFreezeConfirmed(**ids, confirmed_by=by, note=scrub(request.reason)[:500]))
    # The merchant's answer, or the platform's own rejection, given on that ground.
    refusing = actor is Party.MERCHANT or (actor is Party.AGENT and offered is not None
                                           and offered.outcome is Outcome.REJECTED)
    if refusing and no_7day_refusal(
            doc=doc, rules=rules, texts=[request.reason, request.resolution.reason if request.resolution else ""]):
        after.append(refusal_recorded(doc=doc, by=actor.value, at=now, state=step.to_state.value,
                                      tier=step.to_tier.value, action=action.value, fields=fields))
    return save_step(tx, doc=doc, step=step, rules=rules, topic=topic, actor_id=actor_id,
                     after=after, fields=fields, note=note)


def act(uow: UnitOfWork, *, ticket: str, action: Action, principal: Principal, actor: Party, request: ActionRequest,
        rules: Rules, topic: str, record: Callable[[UnitOfWork, dict[str, Any]], None] | None = None) -> dict[str, Any]:
    """An HTTP caller's action on a case in its scope; raises the domain's errors or CaseNotFound.

    record, when given, stores the answer in the same transaction (Idempotency-Key replays)."""

    def work(tx: UnitOfWork) -> dict[str, Any]:
        doc = cases.get_case(tx, ticket=ticket)
        if doc is None or not in_scope(principal=principal, case=doc):
            raise CaseNotFound(ticket)
        done = take_action(tx, doc=doc, action=action, actor=actor, request=request, rules=rules,
                           topic=topic, actor_id=principal.subject, role=principal.role.value)
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
