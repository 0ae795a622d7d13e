"""The in-app inbox: read/unread, readers' own preferences, failed templates, events that overtake the filing."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient

from services.notify.config import NotifySettings
from services.notify.domain import render
from shared.contracts.escalation import CaseAssigned, ComplaintEscalated, SlaWarning
from tests.support.notify_harness import complaint_filed, notify_settings, publish, running_notify, store, token
from tests.support.servers import Servers
from tests.support.smtp_server import SmtpServer
from tests.support.suite import create_topics
from tests.support.waiting import wait_until

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def smtp() -> Iterator[SmtpServer]:
    with SmtpServer() as server:
        yield server


@pytest.fixture(scope="module")
def settings(servers: Servers, namespace: str, service_env: dict[str, str], smtp: SmtpServer) -> NotifySettings:
    create_topics(env=service_env)
    return notify_settings(servers=servers, namespace=namespace, smtp_host=smtp.host, smtp_port=smtp.port,
                           smtp_tls="none")


@pytest.fixture(scope="module")
def app(settings: NotifySettings) -> Iterator[TestClient]:
    with running_notify(settings) as client:
        yield client


def test_the_inbox_belongs_to_the_token_and_tracks_read(app: TestClient, settings: NotifySettings) -> None:
    event = complaint_filed(complainant="u-inbox")
    publish(settings, topic=settings.topics.intake_events, events=[event])
    me = token(settings, subject="u-inbox", role="complainant")
    inbox = wait_until(lambda: app.get("/v1/inbox", headers=me).json()["items"], timeout=30, what="the notice")
    assert [i["ticket"] for i in inbox] == [event.ticket] and inbox[0]["read"] is False
    assert app.get("/v1/inbox", headers=me).json()["unread"] == 1

    read = app.post(f"/v1/inbox/{inbox[0]['id']}/read", headers=me)
    assert read.status_code == 200 and read.json()["read"] is True
    assert app.post(f"/v1/inbox/{inbox[0]['id']}/read", headers=me).json()["read_at"] == read.json()["read_at"]
    assert app.get("/v1/inbox", headers=me).json()["unread"] == 0
    assert app.get("/v1/inbox", params={"unread": True}, headers=me).json()["items"] == []

    stranger = token(settings, subject="u-stranger", role="complainant")
    assert app.get("/v1/inbox", headers=stranger).json()["items"] == []
    assert app.post(f"/v1/inbox/{inbox[0]['id']}/read", headers=stranger).status_code == 404
    assert app.get("/v1/inbox").status_code == 401
    merchant = token(settings, subject="staff-9", role="merchant", merchant_id="m-1001")
    assert any(i["ticket"] == event.ticket for i in app.get("/v1/inbox", headers=merchant).json()["items"])


def test_a_merchant_who_chose_email_in_english_gets_it(app: TestClient, settings: NotifySettings,
                                                       smtp: SmtpServer) -> None:
    merchant = token(settings, subject="staff-1", role="merchant", merchant_id="m-mail")
    saved = app.put("/v1/preferences", headers=merchant, json={
        "email": "shop@example.com", "channels": ["in_app", "email"], "language": "en",
        "time_zone": "Europe/Berlin"})
    assert saved.status_code == 200, saved.text
    bad = app.put("/v1/preferences", headers=merchant, json={"time_zone": "Mars/Olympus"})
    assert bad.status_code == 422 and "time_zone" in bad.text
    event = complaint_filed(merchant="m-mail", phone="13812345678", email="buyer@example.com")
    publish(settings, topic=settings.topics.intake_events, events=[event])

    [mail] = wait_until(lambda: [m for m in smtp.messages if m["To"] == "shop@example.com"], timeout=30,
                        what="the merchant's email")
    text = mail.get_body(preferencelist=("plain",)).get_content()
    assert event.ticket in text and "Europe/Berlin" in text and mail["Content-Language"] == "en"
    assert "13812345678" not in text and "buyer@example.com" not in text


def test_a_template_that_fails_falls_back_to_the_plain_message_and_is_reported(
        app: TestClient, settings: NotifySettings, monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.setitem(render.TEMPLATES, "ComplaintEscalated", "no_such_template")
    filed = complaint_filed(complainant="u-fallback")
    escalated = ComplaintEscalated(complaint_id=filed.complaint_id, ticket=filed.ticket, from_tier="internal",
                                   to_tier="platform", reason="sla_breached")
    with caplog.at_level(logging.WARNING, logger="services.notify"):
        publish(settings, topic=settings.topics.intake_events, events=[filed])
        publish(settings, topic=settings.topics.escalation_events, events=[escalated])
        me = token(settings, subject="u-fallback", role="complainant")
        items = wait_until(lambda: [i for i in app.get("/v1/inbox", headers=me).json()["items"]
                                    if i["event_type"] == "ComplaintEscalated"], timeout=30, what="the fallback")
    assert items[0]["body"].startswith(f"投诉单 {filed.ticket} 有新进展")
    flagged = store(settings).notifications.find_one({"event_id": escalated.event_id, "channel": "in_app",
                                                      "recipient_id": "u-fallback"})
    assert flagged["render_fallback"] is True and "no_such_template" in flagged["render_error"]
    assert any("no_such_template" in r.getMessage() for r in caplog.records)


def warnings_for(app: TestClient, settings: NotifySettings, agent: str, ticket: str) -> list[dict[str, object]]:
    items = app.get("/v1/inbox", headers=token(settings, subject=agent, role="agent")).json()["items"]
    return [i for i in items if i["event_type"] == "SlaWarning" and i["ticket"] == ticket]


def test_an_assignment_and_a_warning_before_the_filing_reach_the_agent_once_it_is_filed(
        app: TestClient, settings: NotifySettings) -> None:
    filed = complaint_filed(complainant="u-park-1")
    due = datetime.now(UTC) + timedelta(hours=2)
    publish(settings, topic=settings.topics.escalation_events, events=[
        CaseAssigned(complaint_id=filed.complaint_id, ticket=filed.ticket, agent_id="agent-park"),
        SlaWarning(complaint_id=filed.complaint_id, ticket=filed.ticket, clock="first_response", due_at=due)])
    parked = store(settings).parked_events
    wait_until(lambda: parked.count_documents({"complaint_id": filed.complaint_id}) == 2, timeout=30,
               what="both events waiting for the filing")
    assert warnings_for(app, settings, "agent-park", filed.ticket) == []

    publish(settings, topic=settings.topics.intake_events, events=[filed])
    # The assignment is applied before the warning, so the warning finds its agent.
    wait_until(lambda: warnings_for(app, settings, "agent-park", filed.ticket), timeout=30,
               what="the warning in the agent's inbox")
    assert parked.count_documents({"complaint_id": filed.complaint_id}) == 0

    later = SlaWarning(complaint_id=filed.complaint_id, ticket=filed.ticket, clock="resolution", due_at=due)
    publish(settings, topic=settings.topics.escalation_events, events=[later])
    wait_until(lambda: len(warnings_for(app, settings, "agent-park", filed.ticket)) == 2, timeout=30,
               what="a later warning, straight to the agent")
    assert parked.count_documents({"complaint_id": filed.complaint_id}) == 0
