"""Every reader learns the ticket, what changed, what to do and by when, in their language and zone."""

from datetime import UTC, datetime

import pytest

from services.notify.domain import render
from services.notify.domain.notice import Language, Notice, Role
from services.notify.domain.render import TEMPLATES, format_money, render_notice

pytestmark = pytest.mark.unit

DEADLINE = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)  # 18:00 in Shanghai, 11:00 in Berlin


def notice(event_type: str = "ComplaintFiled", **changes: object) -> Notice:
    fields: dict[str, object] = {
        "event_id": "evt-1", "event_type": event_type, "complaint_id": "c-7f3a9e",
        "ticket": "CP-20261123-000001", "occurred_at": datetime(2026, 11, 23, 8, tzinfo=UTC),
        "deadline": DEADLINE, "order_no": "DD2026112312345678",
    }
    return Notice(**(fields | changes))


@pytest.mark.parametrize("event_type", [*TEMPLATES, "SomethingNew"])
@pytest.mark.parametrize("language", list(Language))
@pytest.mark.parametrize("role", list(Role))
def test_every_event_renders_ticket_and_both_deadlines(event_type: str, language: Language, role: Role) -> None:
    result = render_notice(notice=notice(event_type, to_state="under_review", tier="platform"),
                           role=role, language=language, time_zone="Europe/Berlin")
    assert not result.fallback, result.error
    for body in (result.subject, result.text, result.html, result.sms):
        assert "CP-20261123-000001" in body
    for body in (result.text, result.html):
        assert "2026-11-24 18:00" in body and "2026-11-24 11:00 CET" in body
        assert "Europe/Berlin" in body


def test_acknowledgement_in_chinese_tells_complainant_what_to_keep() -> None:
    result = render_notice(notice=notice(), role=Role.COMPLAINANT, language=Language.ZH_CN)
    assert result.subject == "[CP-20261123-000001] 投诉已受理"
    assert "受理编号为 CP-20261123-000001" in result.text
    assert "请保留付款凭证" in result.text
    assert "截止时间：2026-11-24 18:00（北京时间 Asia/Shanghai）" in result.text
    assert "CET" not in result.text  # reader already lives in Beijing time


def test_missing_evidence_is_listed_for_the_complainant() -> None:
    assessed = notice("EvidenceAssessed", missing_evidence=("channel_notice", "problem_proof"))
    result = render_notice(notice=assessed, role=Role.COMPLAINANT, language=Language.EN)
    assert "1. the payment channel's 'transaction closed' or exception notice" in result.text
    assert "<li>the payment channel&#39;s &#39;transaction closed&#39; or exception notice</li>" in result.html
    assert "Missing:" in result.sms


def test_status_change_names_both_states() -> None:
    changed = notice("ComplaintStatusChanged", from_state="under_review", to_state="resolved", deadline=None)
    result = render_notice(notice=changed, role=Role.COMPLAINANT, language=Language.ZH_CN)
    assert "由「审核中」变为「已解决」" in result.text
    assert "截止时间" not in result.text


def test_resolution_shows_amount_from_minor_units() -> None:
    proposed = notice("ResolutionProposed", amount_minor=2900, currency="CNY",
                      details={"proposal": "refund in full"})
    result = render_notice(notice=proposed, role=Role.COMPLAINANT, language=Language.EN)
    assert "refund in full (amount 29.00 CNY)" in result.text
    assert "Accept or reject" in result.text
    assert format_money(amount_minor=500, currency="JPY") == "500 JPY"


def test_html_escapes_user_text_and_plain_text_does_not() -> None:
    hostile = notice("ComplaintStatusChanged", reason="<script>alert(1)</script>")
    result = render_notice(notice=hostile, role=Role.AGENT, language=Language.EN)
    assert "<script>" not in result.html and "&lt;script&gt;" in result.html
    assert "<script>alert(1)</script>" in result.text


def test_secrets_and_contacts_never_reach_a_merchant() -> None:
    leaky = notice("ComplaintStatusChanged", reason="key X7K9P2M4Q8R1T5W3 card 4111111111111111 "
                   "password: hunter2 call 13812345678 or alice@example.com")
    merchant = render_notice(notice=leaky, role=Role.MERCHANT, language=Language.EN)
    agent = render_notice(notice=leaky, role=Role.AGENT, language=Language.EN)
    for body in (merchant.subject, merchant.text, merchant.html, merchant.sms):
        for secret in ("X7K9P2M4Q8R1T5W3", "4111111111111111", "hunter2", "13812345678", "alice@"):
            assert secret not in body
    assert "138****5678" in merchant.text and "a***@example.com" in merchant.text
    assert "13812345678" in agent.text and "hunter2" not in agent.text


def test_broken_template_falls_back_to_plain_message_and_reports(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(TEMPLATES, "ComplaintFiled", "does_not_exist")
    result = render_notice(notice=notice(), role=Role.COMPLAINANT, language=Language.ZH_CN)
    assert result.fallback
    assert result.error is not None and "TemplateNotFound" in result.error
    assert "CP-20261123-000001" in result.text and "2026-11-24 18:00" in result.text
    assert result.subject == "[CP-20261123-000001] 投诉进展更新"


def test_render_error_inside_template_falls_back(monkeypatch: pytest.MonkeyPatch) -> None:
    # A template that reads a detail the event does not carry is a render error, not a crash.
    broken = render._TEXT.from_string("{% extends layout %}{% block subject %}{{ details.nope }}{% endblock %}")
    monkeypatch.setattr(render._TEXT, "get_template", lambda name: broken)
    result = render_notice(notice=notice(), role=Role.MERCHANT, language=Language.EN)
    assert result.fallback and "UndefinedError" in (result.error or "")
    assert result.text.startswith("Complaint CP-20261123-000001 has an update (ComplaintFiled).")


def test_unknown_time_zone_is_reported_but_message_still_sent() -> None:
    result = render_notice(notice=notice(), role=Role.COMPLAINANT, language=Language.EN, time_zone="Mars/Base")
    assert not result.fallback
    assert result.error is not None and "time_zone" in result.error
    assert "2026-11-24 18:00 Beijing time" in result.text
