"""Case lifecycle: the moves each action makes, who may make them, and what a 409 lists."""

from datetime import UTC, datetime, timedelta

import pytest

from services.escalation.domain.actions import (
    Action,
    ActionInvalid,
    ActionNotPermitted,
    IllegalTransition,
    MerchantDecision,
)
from services.escalation.domain.states import CaseStatus, Outcome, Resolution, State, allowed_targets
from services.escalation.domain.terms import Party
from services.escalation.domain.transitions import perform
from shared.contracts.vocabulary import Tier
from shared.money import Money

pytestmark = pytest.mark.unit

T0 = datetime(2026, 12, 28, 2, 0, tzinfo=UTC)
AGENT, BUYER, SHOP, SYSTEM = Party.AGENT, Party.COMPLAINANT, Party.MERCHANT, Party.SYSTEM


def _do(status: CaseStatus, action: Action, actor: Party, *, hours: float = 1, **kw) -> CaseStatus:
    return perform(status=status, action=action, actor=actor, at=T0 + timedelta(hours=hours), **kw).status


def _in(state: State, **kw) -> CaseStatus:
    return CaseStatus(state=state, **kw)


def test_happy_path_from_filing_to_closure_records_actor_time_and_tiers() -> None:
    s = _do(_in(State.FILED), Action.ASSIGN, SYSTEM)
    assert s.state is State.ACKNOWLEDGED
    s = _do(s, Action.RESPOND, AGENT)
    assert s.state is State.IN_REVIEW
    s = _do(s, Action.FORWARD_TO_MERCHANT, AGENT)
    assert s.state is State.AWAITING_MERCHANT
    s = _do(s, Action.MERCHANT_RESPONSE, SHOP, decision=MerchantDecision.ACCEPT_REFUND)
    assert s.state is State.RESOLUTION_PROPOSED and s.offer.outcome is Outcome.REFUND
    step = perform(status=s, action=Action.ACCEPT_RESOLUTION, actor=BUYER, at=T0 + timedelta(hours=5))
    assert (step.from_state, step.to_state, step.actor) == (State.RESOLUTION_PROPOSED, State.RESOLVED, BUYER)
    assert step.status.outcome.outcome is Outcome.REFUND and step.status.resolved_at == T0 + timedelta(hours=5)
    assert _do(step.status, Action.CLOSE, AGENT, hours=6).state is State.CLOSED


def test_evidence_request_goes_back_to_the_tier_that_asked() -> None:
    s = _do(_in(State.PAYMENT_CHANNEL_DISPUTE), Action.REQUEST_EVIDENCE, AGENT, items=["channel_closing_notice"])
    assert s.state is State.AWAITING_EVIDENCE and s.tier is Tier.PAYMENT_CHANNEL
    assert s.requested_evidence == ("channel_closing_notice",)
    s = _do(s, Action.PROVIDE_EVIDENCE, BUYER)
    assert s.state is State.PAYMENT_CHANNEL_DISPUTE and s.requested_evidence == ()


def test_awaiting_evidence_and_in_review_go_both_ways() -> None:
    s = _do(_in(State.IN_REVIEW), Action.REQUEST_EVIDENCE, AGENT, items=["payment_proof"])
    assert s.state is State.AWAITING_EVIDENCE
    assert _do(s, Action.PROVIDE_EVIDENCE, BUYER).state is State.IN_REVIEW


def test_request_evidence_must_name_what_is_wanted() -> None:
    with pytest.raises(ActionInvalid) as err:
        _do(_in(State.IN_REVIEW), Action.REQUEST_EVIDENCE, AGENT)
    assert err.value.field == "items"


def test_rejected_offer_returns_to_the_previous_state() -> None:
    offer = Resolution(outcome=Outcome.PARTIAL_REFUND, amount=Money(amount_minor=1000, currency="CNY"))
    s = _do(_in(State.PLATFORM_ARBITRATION), Action.PROPOSE_RESOLUTION, AGENT, resolution=offer)
    assert s.state is State.RESOLUTION_PROPOSED and s.offer == offer
    s = _do(s, Action.REJECT_RESOLUTION, BUYER, reason="I want the full 29 CNY")
    assert s.state is State.PLATFORM_ARBITRATION and s.offer is None


def test_merchant_contest_sends_the_case_back_to_review_and_needs_a_reason() -> None:
    s = _in(State.AWAITING_MERCHANT)
    with pytest.raises(ActionInvalid, match="reason"):
        _do(s, Action.MERCHANT_RESPONSE, SHOP, decision=MerchantDecision.CONTEST)
    s = _do(s, Action.MERCHANT_RESPONSE, SHOP, decision=MerchantDecision.CONTEST,
            reason="key delivered, log attached")
    assert s.state is State.IN_REVIEW


def test_merchant_reissue_becomes_an_offer_of_keys() -> None:
    s = _do(_in(State.AWAITING_MERCHANT), Action.MERCHANT_RESPONSE, SHOP, decision=MerchantDecision.REISSUE,
            resolution=Resolution(outcome=Outcome.REISSUE, keys=2))
    assert s.state is State.RESOLUTION_PROPOSED and s.offer.keys == 2


def test_escalate_moves_up_one_tier_by_default_and_needs_a_reason() -> None:
    with pytest.raises(ActionInvalid, match="reason"):
        _do(_in(State.IN_REVIEW), Action.ESCALATE, AGENT)
    step = perform(status=_in(State.IN_REVIEW), action=Action.ESCALATE, actor=SYSTEM, at=T0,
                   reason="internal_answer breached")
    assert step.to_state is State.PLATFORM_ARBITRATION
    assert (step.from_tier, step.to_tier) == (Tier.INTERNAL, Tier.PLATFORM)
    s = _do(step.status, Action.ESCALATE, BUYER, reason="no answer", target=Tier.EXTERNAL)
    assert s.state is State.EXTERNAL


def test_escalating_down_is_a_conflict_listing_the_allowed_states() -> None:
    with pytest.raises(IllegalTransition) as err:
        _do(_in(State.EXTERNAL), Action.ESCALATE, AGENT, reason="x", target=Tier.PLATFORM)
    assert State.LEGAL in err.value.allowed and State.PLATFORM_ARBITRATION not in err.value.allowed


def test_external_filing_records_the_case_number_and_moves_to_external() -> None:
    s = _do(_in(State.IN_REVIEW), Action.RECORD_EXTERNAL_FILING, BUYER, reference="12315-2026-000123")
    assert s.state is State.EXTERNAL and s.external_references == ("12315-2026-000123",)
    s = _do(s, Action.RECORD_EXTERNAL_FILING, AGENT, reference="HM-778")
    assert s.state is State.EXTERNAL and s.external_references == ("12315-2026-000123", "HM-778")
    with pytest.raises(ActionInvalid, match="reference"):
        _do(s, Action.RECORD_EXTERNAL_FILING, AGENT, reference="  ")


def test_any_active_state_can_be_resolved_with_an_outcome() -> None:
    for state in (State.FILED, State.AWAITING_EVIDENCE, State.PAYMENT_CHANNEL_DISPUTE, State.LEGAL):
        s = _do(_in(state), Action.RESOLVE, AGENT, resolution=Resolution(outcome=Outcome.UNFREEZE))
        assert s.state is State.RESOLVED


def test_rejection_needs_a_reason_and_money_outcomes_need_an_amount() -> None:
    with pytest.raises(ValueError, match="reason is required"):
        Resolution(outcome=Outcome.REJECTED)
    with pytest.raises(ValueError, match="amount is required"):
        Resolution(outcome=Outcome.COMPENSATION)


def test_reopen_within_window_and_refused_after() -> None:
    resolved = _do(_in(State.IN_REVIEW), Action.RESOLVE, AGENT, hours=0,
                   resolution=Resolution(outcome=Outcome.REJECTED, reason="key was redeemed by buyer"))
    closed = _do(resolved, Action.CLOSE, SYSTEM)
    assert _do(closed, Action.REOPEN, BUYER, hours=24 * 15).state is State.IN_REVIEW
    with pytest.raises(IllegalTransition, match="reopen window has ended") as err:
        _do(closed, Action.REOPEN, BUYER, hours=24 * 15 + 1)
    assert err.value.allowed == ()
    longer = _do(closed, Action.REOPEN, BUYER, hours=24 * 20, reopen_window=timedelta(days=30))
    assert longer.state is State.IN_REVIEW


def test_withdrawn_case_accepts_nothing() -> None:
    s = _do(_in(State.AWAITING_MERCHANT), Action.WITHDRAW, BUYER)
    assert s.state is State.WITHDRAWN and allowed_targets(status=s) == ()
    with pytest.raises(IllegalTransition, match="allowed next states: none"):
        _do(s, Action.RESPOND, AGENT)


def test_illegal_transition_lists_allowed_targets_for_the_409() -> None:
    with pytest.raises(IllegalTransition) as err:
        _do(_in(State.IN_REVIEW), Action.ACCEPT_RESOLUTION, BUYER)
    assert err.value.state is State.IN_REVIEW
    assert err.value.allowed == (
        State.AWAITING_EVIDENCE, State.AWAITING_MERCHANT, State.RESOLUTION_PROPOSED,
        State.PLATFORM_ARBITRATION, State.PAYMENT_CHANNEL_DISPUTE, State.EXTERNAL, State.LEGAL,
        State.RESOLVED, State.WITHDRAWN)


def test_closing_an_unresolved_case_is_a_conflict() -> None:
    with pytest.raises(IllegalTransition) as err:
        _do(_in(State.IN_REVIEW), Action.CLOSE, AGENT)
    assert State.CLOSED not in err.value.allowed


def test_parties_may_only_take_their_own_actions() -> None:
    with pytest.raises(ActionNotPermitted) as err:
        offered = _in(State.RESOLUTION_PROPOSED, offer=Resolution(outcome=Outcome.REFUND))
        _do(offered, Action.ACCEPT_RESOLUTION, SHOP)
    assert err.value.permitted == (Party.COMPLAINANT,)
    with pytest.raises(ActionNotPermitted, match="complainant may not resolve"):
        _do(_in(State.IN_REVIEW), Action.RESOLVE, BUYER, resolution=Resolution(outcome=Outcome.REFUND))
    with pytest.raises(ActionNotPermitted):
        _do(_in(State.IN_REVIEW), Action.WITHDRAW, AGENT)
