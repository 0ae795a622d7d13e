"""Whose clock it is: owners and notify lists validated, the buyer's second warning, tier clocks,
complex cases, and the refund clock from the refund request."""

from datetime import UTC, datetime, timedelta

import pytest
import yaml

from services.escalation.domain.actions import Action
from services.escalation.domain.breaches import plan_breach
from services.escalation.domain.clocks import Clock, start_clock
from services.escalation.domain.effects import (
    CaseFacts,
    apply_clock_changes,
    clock_changes,
    open_clocks,
    refund_requested,
)
from services.escalation.domain.policy import DEFAULT_POLICY, PolicyError, load_policy, parse_policy
from services.escalation.domain.routing import route
from services.escalation.domain.states import CaseStatus, Outcome, Resolution, State
from services.escalation.domain.terms import Party
from services.escalation.domain.transitions import perform
from shared.contracts.vocabulary import Category, Tier
from shared.money import Money

pytestmark = pytest.mark.unit

POLICY = load_policy()
T0 = datetime(2026, 12, 28, 2, 0, tzinfo=UTC)  # Monday 10:00 in Shanghai


def _raw() -> dict:
    return yaml.safe_load(DEFAULT_POLICY.read_text(encoding="utf-8"))


def _problems(raw: dict) -> list[str]:
    with pytest.raises(PolicyError) as err:
        parse_policy(raw=raw, source="policy.yaml")
    return err.value.problems


def test_every_shipped_clock_names_its_owner_and_who_hears_of_it() -> None:
    owners = {name: spec.owner.value for name, spec in POLICY.clocks.items()}
    assert {n for n, o in owners.items() if o == "complainant"} == {
        "evidence_upload", "payment_channel_dispute", "chargeback", "complaint_window"}
    assert (owners["platform_decision"], owners["channel_decision"]) == ("platform", "channel")
    for name, spec in POLICY.clocks.items():
        assert spec.notify.warn and spec.notify.breach, name
        if spec.owner.value == "complainant":
            assert "complainant" in spec.notify.warn and "escalate" not in spec.on_breach, name


def test_a_clock_without_owner_or_notify_lists_is_refused_at_startup() -> None:
    raw = _raw()
    del raw["clocks"]["refund"]["notify"]
    raw["clocks"]["chargeback"]["owner"] = "agent"
    problems = _problems(raw)
    assert any(p.startswith("clocks.refund.notify: Field required") for p in problems)
    assert any(p.startswith("clocks.chargeback.owner:") and "complainant" in p for p in problems)


def test_a_buyers_window_may_not_escalate_nor_prove_internal_handling_failed() -> None:
    raw = _raw()
    raw["clocks"]["complaint_window"]["on_breach"] = ["escalate"]
    assert any("may not escalate" in p for p in _problems(raw))
    raw = _raw()
    raw["external"]["breached_clocks"] = [*raw["external"]["breached_clocks"], "payment_channel_dispute"]
    assert any(p.startswith("external.breached_clocks[") and "complainant's own window" in p for p in _problems(raw))
    raw = _raw()
    raw["tier_clocks"]["platform"] = "nope"
    assert any(p.startswith("tier_clocks.platform: unknown clock 'nope'") for p in _problems(raw))


def test_the_buyer_gets_a_second_warning_a_day_before_unless_the_share_warning_is_already_that_late() -> None:
    window = start_clock(policy=POLICY, name="payment_channel_dispute", started_at=T0, paid_at=T0, channel="alipay")
    assert window.timers() == (("warning", T0 + timedelta(days=12)), ("day_before", T0 + timedelta(days=14)),
                               ("breach", T0 + timedelta(days=15)))
    upload = start_clock(policy=POLICY, name="evidence_upload", started_at=T0)  # warned 14.4 h before
    assert upload.day_before_at is None and [k for k, _ in upload.timers()] == ["warning", "breach"]
    merchant = start_clock(policy=POLICY, name="internal_answer", started_at=T0)  # not the buyer's
    assert merchant.day_before_at is None


def test_windows_per_channel_and_scheme() -> None:
    def days(name: str, channel: str) -> int | None:
        c = start_clock(policy=POLICY, name=name, started_at=T0, paid_at=T0, channel=channel)
        return None if c is None else (c.due_at - T0).days
    assert [days("payment_channel_dispute", ch) for ch in ("alipay", "wechat", "paypal", "other")] == [
        15, 15, 180, 15]
    assert [days("chargeback", ch) for ch in ("visa", "mastercard", "bank_card", "alipay")] == [
        120, 120, None, None]


def test_a_buyers_lapsed_window_never_escalates_and_a_platform_breach_moves_on() -> None:
    r = route(policy=POLICY, category=Category.NOT_DELIVERED)
    lapse = start_clock(policy=POLICY, name="payment_channel_dispute", started_at=T0, paid_at=T0)
    assert plan_breach(clock=lapse, status=CaseStatus(state=State.IN_REVIEW), route=r,
                       policy=POLICY).escalate_to is None
    decision = start_clock(policy=POLICY, name="platform_decision", started_at=T0)
    plan = plan_breach(clock=decision, status=CaseStatus(state=State.PLATFORM_ARBITRATION), route=r, policy=POLICY)
    assert plan.escalate_to is Tier.PAYMENT_CHANNEL


def test_entering_platform_arbitration_starts_its_clock_and_leaving_stops_it() -> None:
    r = route(policy=POLICY, category=Category.NOT_DELIVERED)
    up = perform(status=CaseStatus(state=State.IN_REVIEW), action=Action.ESCALATE, actor=Party.AGENT, at=T0,
                 target=Tier.PLATFORM, reason="unreachable merchant")
    changes = clock_changes(step=up, route=r, policy=POLICY)
    assert "platform_decision" in changes.start
    simple = apply_clock_changes(clocks={}, changes=changes, at=T0, policy=POLICY)["platform_decision"]
    assert simple.due_at == T0 + timedelta(hours=24)
    on = perform(status=up.status, action=Action.ESCALATE, actor=Party.SYSTEM, at=T0,
                 target=Tier.PAYMENT_CHANNEL, reason="platform_decision breached")
    changes = clock_changes(step=on, route=r, policy=POLICY)
    assert "platform_decision" in changes.stop and "channel_decision" in changes.start


def test_a_complex_case_gets_five_working_days_at_the_platform() -> None:
    def facts(**kw) -> CaseFacts:
        return CaseFacts(category="not-delivered", amount=Money(amount_minor=2900, currency="CNY"), **kw)
    assert not facts().is_complex(policy=POLICY)
    assert facts(contested=True).is_complex(policy=POLICY)
    assert CaseFacts(category="merchant-fraud").is_complex(policy=POLICY)
    assert CaseFacts(amount=Money(amount_minor=100001, currency="CNY")).is_complex(policy=POLICY)
    clock = start_clock(policy=POLICY, name="platform_decision", started_at=T0, complex_case=True)
    assert clock.basis.value == "working_days" and clock.due_at == datetime(2027, 1, 5, 16, tzinfo=UTC)


def test_the_refund_clock_runs_from_the_refund_request_and_an_accepted_offer_does_not_move_it() -> None:
    assert [refund_requested(demand={"type": t}) for t in (
        "refund", "refund_and_compensation", "fraud_triple", "reissue", "compensation")] == [
        True, True, True, False, False]
    r = route(policy=POLICY, category=Category.NOT_DELIVERED)
    asked = open_clocks(policy=POLICY, route=r, opened_at=T0, facts=CaseFacts(refund_requested=True))
    assert asked["refund"].started_at == T0
    assert "refund" not in open_clocks(policy=POLICY, route=r, opened_at=T0, facts=CaseFacts())
    later = apply_clock_changes(clocks=asked, changes=clock_changes(
        step=perform(status=CaseStatus(state=State.IN_REVIEW), action=Action.RESOLVE, actor=Party.AGENT,
                     at=T0 + timedelta(days=2), resolution=Resolution(outcome=Outcome.REFUND)), route=r, policy=POLICY),
        at=T0 + timedelta(days=2), policy=POLICY)
    assert later["refund"].started_at == T0


def test_a_clock_stored_before_owners_reads_as_the_merchants() -> None:
    stored = start_clock(policy=POLICY, name="first_response", started_at=T0).model_dump(mode="json")
    stored["owner"] = "agent"  # how clocks were stored when the owner was the acting party
    del stored["day_before_at"]
    clock = Clock.model_validate(stored)
    assert clock.owner.value == "merchant" and clock.day_before_at is None


def test_a_breach_passes_over_the_payment_channel_once_the_buyers_windows_there_have_lapsed() -> None:
    r = route(policy=POLICY, category=Category.NOT_DELIVERED)
    decision = start_clock(policy=POLICY, name="platform_decision", started_at=T0)
    at_platform = CaseStatus(state=State.PLATFORM_ARBITRATION)
    lapsed = plan_breach(clock=decision, status=at_platform, route=r, policy=POLICY, refusal_record=True,
                         lapsed_windows=frozenset({"payment_channel_dispute"}))
    assert lapsed.escalate_to is Tier.EXTERNAL and "payment_channel passed over" in lapsed.reason
    still_open = plan_breach(clock=decision, status=at_platform, route=r, policy=POLICY, refusal_record=True,
                             lapsed_windows=frozenset({"payment_channel_dispute"}),
                             open_windows=frozenset({"chargeback"}))
    assert still_open.escalate_to is Tier.PAYMENT_CHANNEL
    raw = _raw()
    raw["tier_windows"]["payment_channel"] = ["first_response"]
    assert any(p.startswith("tier_windows.payment_channel[0]: 'first_response' is not a window")
               for p in _problems(raw))
