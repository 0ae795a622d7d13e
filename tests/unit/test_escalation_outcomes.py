"""Outcome rules without I/O: the remedies' money, the refusal that is no ground, the evidence gate,
and the automatic tier handing on to internal handling."""

from datetime import UTC, datetime

import pytest

from services.escalation.domain.actions import Action, ActionInvalid
from services.escalation.domain.breaches import plan_breach
from services.escalation.domain.clocks import start_clock
from services.escalation.domain.evidence_gate import EvidenceMissing, EvidenceOverride, gate
from services.escalation.domain.policy import load_policy
from services.escalation.domain.remedies import complete_offer, fraud_triple_amounts, is_no_7day_return_refusal
from services.escalation.domain.routing import route
from services.escalation.domain.states import CaseStatus, Outcome, Resolution, State
from services.escalation.domain.terms import Party
from services.escalation.domain.transitions import perform
from shared.contracts.vocabulary import Category, Tier
from shared.money import Money

pytestmark = pytest.mark.unit

POLICY = load_policy()
TERMS = POLICY.remedies
NOW = datetime(2026, 12, 6, 8, 0, tzinfo=UTC)


def _cny(minor: int) -> Money:
    return Money(amount_minor=minor, currency="CNY")


@pytest.mark.parametrize(("price", "compensation"), [(30000, 90000), (9900, 50000), (16667, 50001), (100, 50000)])
def test_fraud_triple_is_three_times_the_price_with_a_500_cny_floor(price: int, compensation: int) -> None:
    assert fraud_triple_amounts(price=_cny(price), terms=TERMS) == (_cny(price), _cny(compensation))


def test_the_500_cny_floor_is_chinese_law_and_applies_to_cny_only() -> None:
    usd = Money(amount_minor=1000, currency="USD")
    assert fraud_triple_amounts(price=usd, terms=TERMS)[1] == Money(amount_minor=3000, currency="USD")


def test_a_plain_refund_is_the_order_amount_and_a_compensation_gets_a_basis() -> None:
    full = complete_offer(resolution=Resolution(outcome=Outcome.REFUND), price=_cny(2900),
                          category=Category.NOT_DELIVERED, terms=TERMS)
    assert (full.refund, full.compensation) == (_cny(2900), None)
    old = complete_offer(resolution=Resolution(outcome=Outcome.COMPENSATION, amount=_cny(1000)), price=_cny(2900),
                         category=Category.NOT_DELIVERED, terms=TERMS)
    assert (old.compensation, old.compensation_basis) == (_cny(1000), "other")


def test_a_refund_in_another_currency_or_above_the_price_names_the_field() -> None:
    with pytest.raises(ActionInvalid) as err:
        complete_offer(resolution=Resolution(outcome=Outcome.REFUND, refund=Money(amount_minor=100, currency="USD")),
                       price=_cny(2900), category=Category.NOT_DELIVERED, terms=TERMS)
    assert err.value.field == "resolution.refund.currency"


@pytest.mark.parametrize("text", [
    "虚拟商品不支持七天无理由退货", "本商品为虚拟商品，不适用7天无理由退换", "虚拟物品一经售出不支持 7 天无理由退款",
    "7天无理由退货不适用于虚拟商品", "Virtual goods are not eligible for 7-day no-reason returns.",
    "Sorry, virtual items: no 7-day return.", "The 7-day return policy does not apply to virtual products",
])
def test_the_no_7_day_return_refusal_is_recognised_in_both_languages(text: str) -> None:
    assert is_no_7day_return_refusal(text)


@pytest.mark.parametrize("text", ["卡密无效，请退款", "我7天前买的虚拟点卡", "Refund within 7 days please"])
def test_ordinary_words_are_not_taken_for_the_refusal(text: str) -> None:
    assert not is_no_7day_return_refusal(text)


def test_the_evidence_gate_names_what_is_missing_unless_overridden() -> None:
    with pytest.raises(EvidenceMissing) as err:
        gate(missing=["channel_notice"], override=None)
    assert err.value.missing[0].field == "channel_notice" and "支付渠道" in err.value.text_zh
    assert gate(missing=["channel_notice"], override=EvidenceOverride(reason="bank statement")) == ("channel_notice",)
    assert gate(missing=[], override=None) == ()


def test_the_automatic_window_hands_the_case_to_internal_handling_in_its_state() -> None:
    r = route(policy=POLICY, category=Category.CHARGED_NO_ORDER)
    status = CaseStatus(state=State.ACKNOWLEDGED, automatic=True)
    assert status.tier is Tier.AUTOMATIC
    window = start_clock(policy=POLICY, name="automatic_window", started_at=NOW)
    plan = plan_breach(clock=window, status=status, route=r, policy=POLICY)
    assert plan.escalate_to is Tier.INTERNAL
    step = perform(status=status, action=Action.ESCALATE, actor=Party.SYSTEM, at=NOW, target=plan.escalate_to,
                   reason=plan.reason)
    assert (step.to_state, step.from_tier, step.to_tier) == (State.ACKNOWLEDGED, Tier.AUTOMATIC, Tier.INTERNAL)


def test_the_automatic_offer_stays_at_the_automatic_tier_and_an_agent_takes_it_over() -> None:
    status = CaseStatus(state=State.ACKNOWLEDGED, automatic=True)
    offer = perform(status=status, action=Action.PROPOSE_RESOLUTION, actor=Party.SYSTEM, at=NOW,
                    resolution=Resolution(outcome=Outcome.REFUND, refund=_cny(10000)))
    assert (offer.to_state, offer.to_tier) == (State.RESOLUTION_PROPOSED, Tier.AUTOMATIC)
    agent = perform(status=status, action=Action.RESPOND, actor=Party.AGENT, at=NOW)
    assert agent.to_tier is Tier.INTERNAL
