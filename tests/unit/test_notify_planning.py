"""Each channel gets the text it shows: in-app subject and body, email with HTML, a webhook its partner event."""

import json
from datetime import UTC, datetime

import pytest

from services.notify.config import NotifySettings
from services.notify.domain.notice import Channel, Language, Notice, Role
from services.notify.domain.recipients import Preferences, Recipient
from services.notify.domain.render import TEMPLATES, render_notice
from services.notify.models import Notification
from services.notify.service import inbox
from services.notify.service.planning import About, create_notifications

pytestmark = pytest.mark.unit

NOW = datetime(2026, 11, 23, 8, tzinfo=UTC)
NOTICE = Notice(event_id="evt-1", event_type="ComplaintFiled", complaint_id="c-7f3a9e", ticket="CP-20261123-000001",
                occurred_at=NOW, deadline=datetime(2026, 11, 24, 10, tzinfo=UTC), order_no="DD2026112312345678")


@pytest.mark.parametrize("event_type", [*TEMPLATES, "SomethingNew"])
@pytest.mark.parametrize("role", [Role.COMPLAINANT, Role.MERCHANT])
def test_an_in_app_rendering_is_the_full_renderings_subject_and_text(event_type: str, role: Role) -> None:
    notice = NOTICE.model_copy(update={"event_type": event_type, "to_state": "resolved", "tier": "platform"})
    full = render_notice(notice=notice, role=role, language=Language.ZH_CN, time_zone="Europe/Berlin")
    part = render_notice(notice=notice, role=role, language=Language.ZH_CN, time_zone="Europe/Berlin",
                         parts=frozenset({"subject", "text"}))
    assert (part.subject, part.text, part.fallback) == (full.subject, full.text, full.fallback)
    assert part.html == part.sms == ""


def test_each_channel_carries_what_it_shows() -> None:
    settings = NotifySettings(smtp_host="smtp.example.test")
    body = json.dumps({"type": "org.complaints-suite.complaint.filed.v1", "data": {"ticket": NOTICE.ticket}})
    about = About(event_id="evt-1", event_type="ComplaintFiled", complaint_id=NOTICE.complaint_id,
                  ticket=NOTICE.ticket, platform="p1", notice=NOTICE, payload=lambda _summary: body,
                  public_type="org.complaints-suite.complaint.filed.v1")
    recipients = [Recipient(id="p1:complainant:u1", role=Role.COMPLAINANT, email="buyer@example.test",
                            preferences=Preferences(channels=(Channel.IN_APP, Channel.EMAIL))),
                  Recipient(id="p1:partner:s1", role=Role.PARTNER, webhook_url="https://partner.example/hook")]
    rows = create_notifications(about=about, recipients=recipients, settings=settings, now=NOW)
    for one in rows:  # built without a document object, each is what the document stores, and valid
        stored = Notification._from_son(one)
        stored.validate()
        assert stored.to_mongo().to_dict() == one
    made = {one["channel"]: one for one in rows}
    assert set(made) == {"in_app", "email", "webhook"}
    in_app, email, webhook = made["in_app"], made["email"], made["webhook"]
    assert in_app["subject"] == email["subject"] == "[CP-20261123-000001] 投诉已受理"
    assert in_app["body"] == email["body"] and "受理编号为 CP-20261123-000001" in in_app["body"]
    assert email["html"] and "<h1>[CP-20261123-000001] 投诉已受理</h1>" in email["html"]
    assert webhook["payload"] == body and webhook["subject"] == "org.complaints-suite.complaint.filed.v1"
    assert webhook["subscription_id"] == "s1" and "html" not in webhook
    assert (in_app["state"], email["state"], webhook["state"]) == ("delivered", "pending", "pending")


def test_a_reader_told_in_app_only_keeps_the_facts_and_sees_them_rendered_as_read() -> None:
    link = "https://console.example.test/s/token-of-the-buyer"
    notice = NOTICE.model_copy(update={"details": {"status_link": link}})
    about = About(event_id="evt-1", event_type="ComplaintFiled", complaint_id=notice.complaint_id,
                  ticket=notice.ticket, platform="p1", notice=notice)
    recipients = [Recipient(id="p1:complainant:u1", role=Role.COMPLAINANT),
                  Recipient(id="p1:merchant:m1", role=Role.MERCHANT,
                            preferences=Preferences(language=Language.EN, time_zone="Europe/Berlin"))]
    rows = create_notifications(about=about, recipients=recipients, settings=NotifySettings(), now=NOW)
    assert {(one["recipient_role"], one["channel"]) for one in rows} == {("complainant", "in_app"),
                                                                        ("merchant", "in_app")}
    for one in rows:
        stored = Notification._from_son(one)
        stored.validate()
        assert "subject" not in one and "body" not in one and one["notice"]
        expected = render_notice(notice=notice, role=Role(one["recipient_role"]), language=Language(one["language"]),
                                 time_zone=one["time_zone"], parts=frozenset({"subject", "text"}))
        assert inbox.shown(stored) == (expected.subject, expected.text) and not expected.fallback
    buyer, merchant = sorted(rows, key=lambda one: one["recipient_role"])
    assert link in inbox.shown(Notification._from_son(buyer))[1]
    # The buyer's status link is a key to their complaint: kept in the buyer's notice only.
    assert link not in merchant["notice"] and merchant["time_zone"] == "Europe/Berlin"
    assert "Europe/Berlin" in inbox.shown(Notification._from_son(merchant))[1]


def test_facts_this_version_cannot_read_still_show_the_events_message_and_flag_the_notice(
        monkeypatch: pytest.MonkeyPatch) -> None:
    flagged: list[dict[str, object]] = []

    def record_flag(**seen: object) -> bool:  # the store's part is test_notify_inbox's (a template failing at read)
        flagged.append(seen)
        return True

    monkeypatch.setattr(inbox.repository, "update_render_failed", record_flag)
    doc = Notification(id="d-1", event_id="evt-1", event_type="ComplaintFiled", complaint_id="c-7f3a9e",
                       ticket="CP-20261123-000001", recipient_key="p1:complainant:u1", recipient_id="u1",
                       recipient_role="complainant", channel="in_app", language="zh-CN", state="delivered",
                       notice='{"event_id": "evt-1", "a_field_of_a_later_version": 1}', time_zone="Asia/Shanghai",
                       next_attempt_at=NOW, lease_until=NOW, created_at=NOW.replace(tzinfo=None))
    subject, body = inbox.shown(doc)
    assert "CP-20261123-000001" in subject and "CP-20261123-000001" in body
    [flag] = flagged
    assert flag["notification_id"] == "d-1" and "stored facts unreadable" in str(flag["error"])
