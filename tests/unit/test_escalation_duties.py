"""Who must act now: per party, the action, its deadline and the zh-CN / English text shown."""

from datetime import UTC, datetime, timedelta

import pytest

from services.escalation.domain.clocks import start_clock
from services.escalation.domain.duties import duties
from services.escalation.domain.policy import load_policy
from services.escalation.domain.states import CaseStatus, Outcome, Resolution, State
from services.escalation.domain.terms import Party
from shared.money import Money

pytestmark = pytest.mark.unit

POLICY = load_policy()
T0 = datetime(2026, 12, 28, 2, 0, tzinfo=UTC)  # Monday 10:00 in Shanghai
PAID = T0 - timedelta(days=2)


def _clock(name: str, **kw):
    return start_clock(policy=POLICY, name=name, started_at=T0, paid_at=PAID, **kw)


def test_complainant_is_asked_for_the_closing_notice_with_a_deadline() -> None:
    status = CaseStatus(state=State.AWAITING_EVIDENCE, return_to=State.IN_REVIEW,
                        requested_evidence=("channel_closing_notice",))
    clocks = [_clock("evidence_upload"), _clock("payment_channel_dispute", channel="alipay"),
              _clock("internal_answer").pause(at=T0)]
    [duty] = duties(status=status, clocks=clocks, at=T0 + timedelta(hours=1))
    assert duty.party is Party.COMPLAINANT and duty.clock == "evidence_upload"
    assert duty.text_en == "Upload the payment channel's closing notice by 2026-12-31 10:00 (Beijing time)."
    assert duty.text_zh == "请在2026-12-31 10:00（北京时间）前上传支付渠道的交易关闭通知。"


def test_evidence_asked_for_by_its_assessment_code_reads_as_words() -> None:
    status = CaseStatus(state=State.AWAITING_EVIDENCE, requested_evidence=("channel_notice",))
    [duty] = duties(status=status, clocks=[_clock("evidence_upload")], at=T0)
    assert "channel_notice" not in duty.text_zh + duty.text_en
    assert duty.text_zh.endswith("前上传支付渠道自己的异常通知或“交易关闭”通知。")
    assert "the payment channel's own exception or 'transaction closed' notice" in duty.text_en


def test_earliest_running_clock_sets_the_deadline() -> None:
    status = CaseStatus(state=State.AWAITING_EVIDENCE, requested_evidence=("payment_proof", "order_record"))
    # Paid 14 days ago: the channel window closes before the 72 h upload clock.
    window = start_clock(policy=POLICY, name="payment_channel_dispute", started_at=T0,
                         paid_at=T0 - timedelta(days=14), channel="wechat")
    [duty] = duties(status=status, clocks=[_clock("evidence_upload"), window], at=T0)
    assert duty.clock == "payment_channel_dispute" and duty.due_at == T0 + timedelta(days=1)
    assert "支付凭证" in duty.text_zh and "、订单记录" in duty.text_zh
    assert duty.text_en.startswith("Upload the payment proof") and " and the order record by " in duty.text_en


def test_merchant_owes_an_answer_within_24_hours() -> None:
    [duty] = duties(status=CaseStatus(state=State.AWAITING_MERCHANT), clocks=[_clock("merchant_response")], at=T0)
    assert duty.party is Party.MERCHANT and duty.due_at == T0 + timedelta(hours=24)
    assert duty.text_zh.startswith("请在2026-12-29 10:00（北京时间）前同意退款、补发")


def test_breached_deadline_is_flagged_overdue() -> None:
    [duty] = duties(status=CaseStatus(state=State.IN_REVIEW),
                    clocks=[_clock("first_response").stop(at=T0), _clock("internal_answer")],
                    at=T0 + timedelta(hours=50))
    assert duty.party is Party.AGENT and duty.clock == "internal_answer" and duty.overdue


def test_refund_deadline_reads_as_end_of_day_in_both_languages() -> None:
    outcome = Resolution(outcome=Outcome.PARTIAL_REFUND, amount=Money(amount_minor=2900, currency="CNY"))
    status = CaseStatus(state=State.RESOLVED, outcome=outcome, resolved_at=T0)
    [duty] = duties(status=status, clocks=[_clock("refund")], at=T0)
    assert duty.party is Party.MERCHANT
    assert duty.text_en == ("Pay a partial refund of 29.00 CNY to the complainant "
                            "by 2027-01-07 24:00 (Beijing time).")
    assert duty.text_zh == "请在2027-01-07 24:00（北京时间）前向投诉人支付部分退款 29.00 CNY。"


def test_offer_waits_on_the_complainant_without_a_clock() -> None:
    status = CaseStatus(state=State.RESOLUTION_PROPOSED, offer=Resolution(outcome=Outcome.REISSUE, keys=2))
    [duty] = duties(status=status, clocks=[], at=T0)
    assert duty.due_at is None
    assert duty.text_en == "Accept or reject the offer: 2 valid card key(s) as soon as possible."
    assert duty.text_zh == "请尽快接受或拒绝处理方案：2个有效卡密。"


def test_channel_dispute_puts_duties_on_complainant_and_agent() -> None:
    clocks = [_clock("chargeback", channel="visa"), _clock("first_response")]
    found = duties(status=CaseStatus(state=State.PAYMENT_CHANNEL_DISPUTE), clocks=clocks, at=T0)
    assert [(d.party, d.clock) for d in found] == [
        (Party.COMPLAINANT, "chargeback"), (Party.AGENT, "first_response")]


def test_finished_cases_owe_nothing() -> None:
    assert duties(status=CaseStatus(state=State.CLOSED), clocks=[], at=T0) == ()
    assert duties(status=CaseStatus(state=State.WITHDRAWN), clocks=[], at=T0) == ()
