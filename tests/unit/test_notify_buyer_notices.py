"""What the buyer, the merchant and the partner read about the buyer's own windows, offers with parts,
freezes and regulators' references; zh-CN notices hold no raw codes and no English words."""

import re
from datetime import UTC, datetime

import pytest

from services.notify.domain.notice import Language, Notice, Role
from services.notify.domain.render import TEMPLATES, render_notice
from services.notify.domain.scrub import scrub
from services.notify.service.notices import create_notice
from shared.contracts.escalation import ComplaintEscalated, ResolutionProposed, SlaBreached, SlaWarning
from shared.money import Money

pytestmark = pytest.mark.unit

DUE = datetime(2026, 12, 8, 4, 0, tzinfo=UTC)  # 12:00 Beijing time
IDS = {"complaint_id": "c-7f3a9e", "ticket": "CP-20261123-000001"}
WHERE = {
    "payment_channel_dispute": (["支付宝", "我的→账单", "申请售后/投诉", "微信支付", "该渠道自己的争议流程"],
                                ["Alipay", "WeChat Pay", "申请售后/投诉", "its own dispute process"]),
    "chargeback": (["发卡银行", "拒付"], ["card issuer", "chargeback"]),
    "complaint_window": (["补单申请", "7 天内"], ["补单", "within 7 days"]),
    "evidence_upload": (["上传所要求的证据"], ["upload the requested evidence"]),
}
SANCTION = ["逾期平台将介入处理", "保证金", "限制店铺", "deposit", "restrict your shop", "step in"]
BLAME = ["平台将介入", "未能在时限内", "向支付渠道", "did not get a substantive answer", "to your payment channel"]


def read(event: object, role: Role, language: Language, zone: str = "Asia/Shanghai") -> str:
    result = render_notice(notice=create_notice(event=event, order_no="202611230001"), role=role,  # type: ignore[arg-type]
                           language=language, time_zone=zone)
    assert not result.fallback, result.error
    return "\n".join((result.subject, result.text, result.sms))


@pytest.mark.parametrize("clock", sorted(WHERE))
@pytest.mark.parametrize("stage", ["share", "day_before"])
def test_the_buyer_is_told_what_to_do_and_where_before_their_window_closes(clock: str, stage: str) -> None:
    warning = SlaWarning(**IDS, clock=clock, due_at=DUE, owner="complainant", audience=["complainant"], stage=stage)
    zh = read(warning, Role.COMPLAINANT, Language.ZH_CN)
    en = read(warning, Role.COMPLAINANT, Language.EN, zone="America/New_York")
    assert all(word in zh for word in WHERE[clock][0]), zh
    assert all(word in en for word in WHERE[clock][1]), en
    assert "2026-12-08 12:00" in zh and "北京时间" in zh and clock not in zh
    assert "2026-12-08 12:00 Beijing time" in en and "2026-12-07 23:00 EST" in en
    assert ("还剩一天" in zh) == (stage == "day_before") and ("One day left" in en) == (stage == "day_before")


@pytest.mark.parametrize("owner", ["complainant", ""])  # "": an event from before owners were named
@pytest.mark.parametrize("clock", sorted(WHERE))
def test_a_lapse_of_the_buyers_window_blames_nobody_and_threatens_no_merchant(clock: str, owner: str) -> None:
    breach = SlaBreached(**IDS, clock=clock, due_at=DUE, owner=owner, audience=["complainant", "agent"])
    for language in Language:
        buyer = read(breach, Role.COMPLAINANT, language)
        assert not [w for w in BLAME if w in buyer], buyer
        assert "已于截止时间结束" in buyer or "closed at the deadline" in buyer
        shop = read(breach, Role.MERCHANT, language)
        assert not [w for w in SANCTION if w in shop], shop
    assert "不计入商家超时" in read(breach, Role.AGENT, Language.ZH_CN)


def test_a_lapse_of_the_merchants_clock_still_warns_the_merchant() -> None:
    breach = SlaBreached(**IDS, clock="merchant_response", due_at=DUE, owner="merchant", audience=["merchant"])
    assert "可能扣除保证金" in read(breach, Role.MERCHANT, Language.ZH_CN)
    warning = SlaWarning(**IDS, clock="merchant_response", due_at=DUE, owner="merchant", audience=["merchant"])
    assert "逾期平台将介入处理" in read(warning, Role.MERCHANT, Language.ZH_CN)


def test_an_offer_with_a_refund_and_compensation_names_both_parts() -> None:
    offer = ResolutionProposed(**IDS, outcome="refund", refund=Money(amount_minor=2900, currency="CNY"),
                               compensation=Money(amount_minor=1000, currency="CNY"), compensation_basis="delay")
    assert "退款 29.00 元，并赔偿 10.00 元（延误补偿）" in read(offer, Role.COMPLAINANT, Language.ZH_CN)
    assert "a refund of 29.00 CNY and 10.00 CNY compensation for the delay" in read(offer, Role.COMPLAINANT,
                                                                                       Language.EN)
    triple = ResolutionProposed(**IDS, outcome="fraud_triple", refund=Money(amount_minor=9900, currency="CNY"),
                                compensation=Money(amount_minor=50000, currency="CNY"),
                                compensation_basis="fraud_triple")
    zh = read(triple, Role.COMPLAINANT, Language.ZH_CN)
    assert "退款 99.00 元，并赔偿 500.00 元（退一赔三" in zh and "第五十五条" in zh


def test_an_automatic_offer_says_the_platform_refunds_after_the_channel_confirmed() -> None:
    offer = ResolutionProposed(**IDS, outcome="refund", refund=Money(amount_minor=10000, currency="CNY"),
                               automatic=True)
    zh = read(offer, Role.COMPLAINANT, Language.ZH_CN)
    assert "退款 100.00 元" in zh and "支付渠道已确认该笔扣款，平台将自动为您退款" in zh
    assert "the platform refunds you automatically" in read(offer, Role.COMPLAINANT, Language.EN)


def test_a_regulators_reference_reaches_its_filer_whole_and_card_numbers_stay_masked() -> None:
    # 4111111111111111 passes the card check: without its label it would be masked.
    escalated = ComplaintEscalated(**IDS, from_tier="internal", to_tier="external",
                                   reason="买家已向 12315 投诉，受理号 4111111111111111，卡号 5500000000000004")
    for role in (Role.COMPLAINANT, Role.MERCHANT):
        text = read(escalated, role, Language.ZH_CN)
        assert "12315 投诉，受理号 4111111111111111" not in text  # free text is never copied
        assert "受理号 4111111111111111" in text and "5500000000000004" not in text
    assert scrub("12315 受理号 1234567890123") == "12315 受理号 1234567890123"
    assert scrub("投诉编号 13812345678 电话 13912345678", mask_contacts=True) == "投诉编号 13812345678 电话 139****5678"
    assert scrub("卡号 4111111111111111") == "卡号 ****1111"


def _codes_in(text: str, allowed: tuple[str, ...]) -> list[str]:
    for token in allowed:
        text = text.replace(token, "")
    return re.findall(r"[A-Za-z_]{2,}", text)


@pytest.mark.parametrize("event_type", list(TEMPLATES))
@pytest.mark.parametrize("role", list(Role))
def test_chinese_notices_hold_no_raw_code_or_english_word(event_type: str, role: Role) -> None:
    notice = Notice(event_id="e-1", event_type=event_type, **IDS, occurred_at=DUE, deadline=DUE,
                    order_no="DD2026112312345678", from_state="awaiting_evidence", to_state="platform_arbitration",
                    tier="payment_channel", reason="refusal_no_7day_return_not_a_ground", clock="chargeback",
                    missing_evidence=("key_failure_prompt", "not_received_screen", "freeze_report", "platform_rule"),
                    outcome="partial_refund", freeze=("account", "payment_instrument"), payment_channel="wechat",
                    confirmed_by="partner", amount_minor=2900, currency="CNY")
    result = render_notice(notice=notice, role=role, language=Language.ZH_CN)
    assert not result.fallback, result.error
    for body in (result.subject, result.text, result.sms):
        assert _codes_in(body, (notice.ticket, "DD2026112312345678", "Asia/Shanghai")) == [], body


@pytest.mark.parametrize(("owner", "clock", "next_step"), [("platform", "platform_decision", "转入下一处理环节"),
                                                           ("channel", "channel_decision", "向该渠道催办")])
def test_a_lapse_of_the_platforms_or_channels_clock_tells_the_buyer_the_next_step_and_spares_the_merchant(
        owner: str, clock: str, next_step: str) -> None:
    breach = SlaBreached(**IDS, clock=clock, due_at=DUE, owner=owner, escalated_to="external",
                         audience=["complainant", "merchant", "agent"])
    buyer = read(breach, Role.COMPLAINANT, Language.ZH_CN)
    assert next_step in buyer and "投诉已转入「外部投诉渠道（如12315）」" in buyer
    assert not [w for w in SANCTION for language in Language if w in read(breach, Role.MERCHANT, language)]


def test_the_agents_breach_digest_counts_the_breaches_in_words_of_the_readers_language() -> None:
    digest = Notice(event_id="d-1", event_type="SlaBreached", complaint_id="digest", occurred_at=DUE,
                    ticket="CP-20261123-000001、CP-20261123-000002", details={"breached": "2"})
    zh = render_notice(notice=digest, role=Role.AGENT, language=Language.ZH_CN).text
    assert "您负责的 2 件投诉已超时" in zh and "breached" not in zh
    assert "2 of your complaints missed their deadlines" in render_notice(notice=digest, role=Role.AGENT,
                                                                          language=Language.EN).text


def test_a_failed_template_still_speaks_chinese_to_a_chinese_reader(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(TEMPLATES, "AccountFreezeRequested", "does_not_exist")
    notice = Notice(event_id="e-1", event_type="AccountFreezeRequested", **IDS, occurred_at=DUE)
    result = render_notice(notice=notice, role=Role.COMPLAINANT, language=Language.ZH_CN)
    assert result.fallback and "有新进展（冻结请求）" in result.text
    assert _codes_in(result.text, (notice.ticket,)) == []
