"""How each action changes a case's status; every rule returns the new status or raises."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from services.escalation.domain.actions import (
    Action,
    ActionInvalid,
    IllegalTransition,
    MerchantDecision,
)
from services.escalation.domain.states import (
    ACTIVE,
    TIER_STATES,
    CaseStatus,
    Outcome,
    Resolution,
    State,
)
from shared.contracts.vocabulary import Tier

Legal = tuple[State, ...]


def _refuse(s: CaseStatus, a: Action, legal: tuple[State, ...], why: str = "") -> IllegalTransition:
    return IllegalTransition(state=s.state, action=a, allowed=legal, why=why)


def _active(s: CaseStatus, a: Action, legal: tuple[State, ...]) -> None:
    if s.state not in ACTIVE:
        raise _refuse(s, a, legal)


def _assign(s: CaseStatus, a: Action, *, legal: Legal, **_: Any) -> CaseStatus:
    _active(s, a, legal)
    return s.model_copy(update={"state": State.ACKNOWLEDGED}) if s.state is State.FILED else s


def _respond(s: CaseStatus, a: Action, *, legal: Legal, **_: Any) -> CaseStatus:
    _active(s, a, legal)
    if s.state in {State.FILED, State.ACKNOWLEDGED}:
        return s.model_copy(update={"state": State.IN_REVIEW})
    return s


def _to(state: State) -> Callable[..., CaseStatus]:
    def rule(s: CaseStatus, a: Action, **_: Any) -> CaseStatus:
        return s.model_copy(update={"state": state})
    return rule


def _request_evidence(s: CaseStatus, a: Action, *, items: tuple[str, ...], legal: Legal,
                      **_: Any) -> CaseStatus:
    _active(s, a, legal)
    if not items:
        raise ActionInvalid(field="items", rule="name at least one piece of evidence to request")
    # Evidence asked for before review started is examined in review, not in the intake states.
    back = s.handling_state
    back = State.IN_REVIEW if back in {State.FILED, State.ACKNOWLEDGED} else back
    return s.model_copy(update={"state": State.AWAITING_EVIDENCE, "return_to": back,
                                "requested_evidence": items})


def _provide_evidence(s: CaseStatus, a: Action, *, legal: Legal, **_: Any) -> CaseStatus:
    if s.state is not State.AWAITING_EVIDENCE:
        raise _refuse(s, a, legal, " (no evidence was requested)")
    return s.model_copy(update={"state": s.handling_state, "return_to": None, "requested_evidence": ()})


def _merchant_response(s: CaseStatus, a: Action, *, decision: MerchantDecision | None, reason: str,
                       resolution: Resolution | None, legal: Legal, **_: Any) -> CaseStatus:
    if s.state not in {State.AWAITING_MERCHANT, State.PLATFORM_ARBITRATION}:
        raise _refuse(s, a, legal, " (the merchant was not asked)")
    if decision is None:
        raise ActionInvalid(field="decision", rule="one of " + ", ".join(MerchantDecision))
    if decision is MerchantDecision.CONTEST:
        if not reason:
            raise ActionInvalid(field="reason", rule="a contest must say why and cite the evidence")
        back = State.IN_REVIEW if s.state is State.AWAITING_MERCHANT else s.state
        return s.model_copy(update={"state": back})
    kind = Outcome.REFUND if decision is MerchantDecision.ACCEPT_REFUND else Outcome.REISSUE
    # The merchant may name the amount or key count; otherwise the plain outcome is offered.
    offer = resolution if resolution is not None and resolution.outcome is kind else Resolution(outcome=kind)
    return _propose(s, a, resolution=offer, legal=legal)


def _propose(s: CaseStatus, a: Action, *, resolution: Resolution | None, legal: Legal,
             **_: Any) -> CaseStatus:
    _active(s, a, legal)
    if resolution is None:
        raise ActionInvalid(field="resolution", rule="an offer needs an outcome")
    return s.model_copy(update={"state": State.RESOLUTION_PROPOSED, "offer": resolution,
                                "return_to": s.handling_state, "requested_evidence": ()})


def _answer_offer(s: CaseStatus, a: Action, *, at: datetime, legal: Legal, **_: Any) -> CaseStatus:
    if s.state is not State.RESOLUTION_PROPOSED or s.offer is None:
        raise _refuse(s, a, legal, " (there is no offer to answer)")
    if a is Action.ACCEPT_RESOLUTION:
        return _resolve(s, a, resolution=s.offer, at=at, legal=legal)
    return s.model_copy(update={"state": s.handling_state, "return_to": None, "offer": None,
                                "automatic": False})


def _escalate(s: CaseStatus, a: Action, *, reason: str, target: Tier | None, legal: Legal,
              **_: Any) -> CaseStatus:
    _active(s, a, legal)
    if not reason:
        raise ActionInvalid(field="reason", rule="an escalation must say why")
    if s.automatic and target in (None, Tier.INTERNAL):
        return s.model_copy(update={"automatic": False})  # the automatic tier hands on to internal handling
    higher = [t for t in TIER_STATES if t.rank > s.tier.rank]
    tier = target or (higher[0] if higher else None)
    if tier is None or tier not in higher:
        raise _refuse(s, a, legal, f" (target must be above tier {s.tier})")
    return s.model_copy(update={"state": TIER_STATES[tier], "return_to": None, "offer": None,
                                "requested_evidence": ()})


def _record_filing(s: CaseStatus, a: Action, *, reference: str, internal_ended: bool, legal: Legal,
                   **_: Any) -> CaseStatus:
    if not reference:
        raise ActionInvalid(field="reference", rule="give the external body's case number")
    if reference in s.external_references:
        raise _refuse(s, a, legal, f" ({reference} is already recorded)")
    refs = (*s.external_references, reference)
    # The consumer may go to any channel at any time (消法 §39): the filing is always recorded. Only
    # once internal handling has ended does the case itself move on; before, handling goes on.
    if s.tier.rank >= Tier.EXTERNAL.rank or s.state not in ACTIVE or not internal_ended:
        return s.model_copy(update={"external_references": refs})
    return s.model_copy(update={"state": State.EXTERNAL, "return_to": None, "offer": None,
                                "requested_evidence": (), "external_references": refs})


def _resolve(s: CaseStatus, a: Action, *, resolution: Resolution | None, at: datetime, legal: Legal,
             **_: Any) -> CaseStatus:
    _active(s, a, legal)
    if resolution is None:
        raise ActionInvalid(field="resolution", rule="resolving needs an outcome")
    return s.model_copy(update={"state": State.RESOLVED, "outcome": resolution, "offer": None,
                                "return_to": None, "requested_evidence": (), "resolved_at": at})


def _reopen(s: CaseStatus, a: Action, *, legal: Legal, **_: Any) -> CaseStatus:
    if State.IN_REVIEW not in legal or s.state not in {State.RESOLVED, State.CLOSED}:
        why = " (the reopen window has ended)" if s.state in {State.RESOLVED, State.CLOSED} else ""
        raise _refuse(s, a, legal, why)
    return s.model_copy(update={"state": State.IN_REVIEW, "outcome": None, "resolved_at": None})


def _confirm_freeze(s: CaseStatus, a: Action, *, freeze_confirmed: bool, legal: Legal, **_: Any) -> CaseStatus:
    if freeze_confirmed:
        raise _refuse(s, a, legal, " (the freeze is already confirmed)")
    return s


RULES: dict[Action, Callable[..., CaseStatus]] = {
    Action.ASSIGN: _assign,
    Action.RESPOND: _respond,
    Action.FORWARD_TO_MERCHANT: _to(State.AWAITING_MERCHANT),
    Action.REQUEST_EVIDENCE: _request_evidence,
    Action.PROVIDE_EVIDENCE: _provide_evidence,
    Action.MERCHANT_RESPONSE: _merchant_response,
    Action.PROPOSE_RESOLUTION: _propose,
    Action.ACCEPT_RESOLUTION: _answer_offer,
    Action.REJECT_RESOLUTION: _answer_offer,
    Action.ESCALATE: _escalate,
    Action.RECORD_EXTERNAL_FILING: _record_filing,
    Action.RESOLVE: _resolve,
    Action.CLOSE: _to(State.CLOSED),
    Action.REOPEN: _reopen,
    Action.WITHDRAW: _to(State.WITHDRAWN),
    Action.CONFIRM_FREEZE: _confirm_freeze,
}
