"""SLA clocks: due and warning times, pausing while the complainant holds the ball, and breaches."""

from datetime import UTC, datetime, timedelta

import pytest

from services.escalation.domain.actions import Action
from services.escalation.domain.breaches import plan_breach
from services.escalation.domain.calendar import SHANGHAI
from services.escalation.domain.clocks import PAUSING_STATES, ClockStatus, start_clock
from services.escalation.domain.effects import apply_clock_changes, clock_changes, open_clocks, opening_clocks
from services.escalation.domain.policy import load_policy
from services.escalation.domain.routing import route
from services.escalation.domain.states import CaseStatus, Outcome, Resolution, State
from services.escalation.domain.terms import BreachAction, Party
from services.escalation.domain.transitions import perform
from shared.contracts.vocabulary import Category, Tier

pytestmark = pytest.mark.unit

POLICY = load_policy()
T0 = datetime(2026, 12, 28, 2, 0, tzinfo=UTC)  # Monday 10:00 in Shanghai


def _h(hours: float) -> datetime:
    return T0 + timedelta(hours=hours)


def test_first_response_is_due_in_24_hours_and_warns_at_80_percent() -> None:
    clock = start_clock(policy=POLICY, name="first_response", started_at=T0)
    assert clock.due_at == _h(24) and clock.warn_at == _h(19.2)
    assert [clock.status(at=_h(h)) for h in (1, 19.2, 24)] == [
        ClockStatus.RUNNING, ClockStatus.WARNED, ClockStatus.BREACHED]
    assert clock.on_breach == (BreachAction.NOTIFY_AGENT, BreachAction.ESCALATE)
    assert clock.timers() == (("warning", _h(19.2)), ("breach", _h(24)))


def test_pause_and_resume_move_an_hours_clock_by_the_paused_time() -> None:
    clock = start_clock(policy=POLICY, name="internal_answer", started_at=T0).pause(at=_h(10))
    assert clock.status(at=_h(60)) is ClockStatus.PAUSED and clock.timers() == ()
    clock = clock.resume(at=_h(22))
    assert clock.due_at == _h(48 + 12) and clock.warn_at == _h(48 * 0.8 + 12)
    assert clock.status(at=_h(59)) is ClockStatus.WARNED


def test_refund_clock_of_7_working_days_crosses_new_year_2027() -> None:
    clock = start_clock(policy=POLICY, name="refund", started_at=T0)
    assert clock.due_at.astimezone(SHANGHAI) == datetime(2027, 1, 8, 0, 0, tzinfo=SHANGHAI)


def test_working_day_clock_gets_back_the_working_days_it_was_paused() -> None:
    clock = start_clock(policy=POLICY, name="refund", started_at=T0)
    paused = clock.model_copy(update={"pausable": True}).pause(
        at=datetime(2026, 12, 30, 10, tzinfo=SHANGHAI))
    resumed = paused.resume(at=datetime(2027, 1, 5, 15, tzinfo=SHANGHAI))
    # 31 Dec, 4 Jan and 5 Jan began while paused, so 10 working days from 28 Dec: ends 12 Jan.
    assert resumed.due_at.astimezone(SHANGHAI) == datetime(2027, 1, 13, 0, 0, tzinfo=SHANGHAI)
    same_day = clock.model_copy(update={"pausable": True}).pause(at=_h(1)).resume(at=_h(5))
    assert same_day.due_at == clock.due_at


def test_windows_set_by_outsiders_do_not_pause() -> None:
    paid = T0 - timedelta(days=3)
    window = start_clock(policy=POLICY, name="payment_channel_dispute", started_at=T0, paid_at=paid,
                         channel="alipay")
    assert window.due_at == paid + timedelta(days=15)
    assert window.pause(at=_h(1)).status(at=_h(2)) is ClockStatus.RUNNING


def test_chargeback_window_only_for_card_schemes_and_needs_the_payment_time() -> None:
    paid = T0 - timedelta(days=1)
    visa = start_clock(policy=POLICY, name="chargeback", started_at=T0, paid_at=paid, channel="visa")
    assert visa.due_at == paid + timedelta(days=120)
    assert start_clock(policy=POLICY, name="chargeback", started_at=T0, paid_at=paid, channel="alipay") is None
    assert start_clock(policy=POLICY, name="chargeback", started_at=T0, channel="visa") is None


def test_unknown_clock_name_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown clock 'sla'; the policy defines: first_response"):
        start_clock(policy=POLICY, name="sla", started_at=T0)


def test_stopped_and_breached_clocks_do_not_pause() -> None:
    clock = start_clock(policy=POLICY, name="first_response", started_at=T0)
    assert clock.pause(at=_h(30)).paused_at is None
    stopped = clock.stop(at=_h(2))
    assert stopped.status(at=_h(40)) is ClockStatus.STOPPED and stopped.timers() == ()


def test_evidence_request_pauses_agent_clocks_and_upload_resumes_them() -> None:
    r = route(policy=POLICY, category=Category.NOT_DELIVERED)
    assert "complaint_window" in opening_clocks(route=r) and "merchant_response" not in opening_clocks(route=r)
    clocks = open_clocks(policy=POLICY, route=r, opened_at=T0, paid_at=T0, channel="wechat")
    # No discovery time was given, so the complaint window cannot run.
    assert set(clocks) == {"first_response", "internal_answer", "payment_channel_dispute"}
    step = perform(status=CaseStatus(state=State.IN_REVIEW), action=Action.REQUEST_EVIDENCE, actor=Party.AGENT,
                   at=_h(2), items=["channel_closing_notice"])
    clocks = apply_clock_changes(clocks=clocks, changes=clock_changes(step=step, route=r), at=_h(2), policy=POLICY)
    assert clocks["internal_answer"].status(at=_h(3)) is ClockStatus.PAUSED
    assert clocks["payment_channel_dispute"].status(at=_h(3)) is ClockStatus.RUNNING
    assert clocks["evidence_upload"].due_at == _h(2 + 72)
    step = perform(status=step.status, action=Action.PROVIDE_EVIDENCE, actor=Party.COMPLAINANT, at=_h(8))
    clocks = apply_clock_changes(clocks=clocks, changes=clock_changes(step=step, route=r), at=_h(8), policy=POLICY)
    assert clocks["internal_answer"].due_at == _h(48 + 6)
    assert clocks["evidence_upload"].status(at=_h(9)) is ClockStatus.STOPPED


def test_refund_resolution_starts_the_refund_clock_and_stops_the_handling_clocks() -> None:
    r = route(policy=POLICY, category=Category.INVALID_CARD_KEY)
    clocks = {n: start_clock(policy=POLICY, name=n, started_at=T0) for n in ("first_response", "internal_answer")}
    step = perform(status=CaseStatus(state=State.IN_REVIEW), action=Action.RESOLVE, actor=Party.AGENT, at=_h(3),
                   resolution=Resolution(outcome=Outcome.REFUND))
    changes = clock_changes(step=step, route=r)
    assert changes.start == ("refund",)
    clocks = apply_clock_changes(clocks=clocks, changes=changes, at=_h(3), policy=POLICY)
    assert clocks["internal_answer"].status(at=_h(4)) is ClockStatus.STOPPED
    assert clocks["refund"].due_at.astimezone(SHANGHAI) == datetime(2027, 1, 8, tzinfo=SHANGHAI)


def test_forwarding_to_the_merchant_starts_their_24_hour_clock_and_escalation_stops_it() -> None:
    r = route(policy=POLICY, category=Category.WRONG_DELIVERY)
    step = perform(status=CaseStatus(state=State.IN_REVIEW), action=Action.FORWARD_TO_MERCHANT,
                   actor=Party.SYSTEM, at=T0)
    assert clock_changes(step=step, route=r).start == ("merchant_response",)
    up = perform(status=step.status, action=Action.ESCALATE, actor=Party.SYSTEM, at=_h(24),
                 reason="merchant_response breached", target=Tier.PLATFORM)
    assert set(clock_changes(step=up, route=r).stop) == {"first_response", "internal_answer", "merchant_response",
                                                         "evidence_upload"}


def test_breached_internal_answer_escalates_to_platform_and_tells_the_complainant() -> None:
    r = route(policy=POLICY, category=Category.NOT_DELIVERED)
    clock = start_clock(policy=POLICY, name="internal_answer", started_at=T0)
    plan = plan_breach(clock=clock, status=CaseStatus(state=State.IN_REVIEW), route=r, policy=POLICY)
    assert plan.escalate_to is Tier.PLATFORM and plan.notify == (Party.COMPLAINANT,)
    assert plan.reason == "internal_answer breached (due 2026-12-30T02:00Z)"


def test_breach_at_the_channel_tier_may_go_external_because_the_breach_is_the_proof() -> None:
    r = route(policy=POLICY, category=Category.UNAUTHORIZED_CHARGE)
    clock = start_clock(policy=POLICY, name="first_response", started_at=T0)
    status = CaseStatus(state=State.PAYMENT_CHANNEL_DISPUTE)
    plan = plan_breach(clock=clock, status=status, route=r, policy=POLICY)
    assert plan.escalate_to is Tier.EXTERNAL and plan.blocked is None


def test_missed_evidence_upload_only_notifies() -> None:
    r = route(policy=POLICY, category=Category.NOT_DELIVERED)
    clock = start_clock(policy=POLICY, name="evidence_upload", started_at=T0)
    status = CaseStatus(state=State.AWAITING_EVIDENCE)
    plan = plan_breach(clock=clock, status=status, route=r, policy=POLICY)
    assert plan.escalate_to is None and plan.notify == (Party.AGENT, Party.COMPLAINANT)


def test_pausing_states_are_those_waiting_on_the_complainant() -> None:
    assert {State.AWAITING_EVIDENCE, State.RESOLUTION_PROPOSED} == PAUSING_STATES
