"""Reminders as durable jobs: missing evidence nudges by SMS, clock warnings to the agent, the breach digest."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient

from services.notify.config import NotifySettings
from shared.contracts.escalation import CaseAssigned, SlaBreached, SlaWarning
from shared.contracts.evidence import EvidenceAssessed
from tests.support.notify_harness import complaint_filed, notify_settings, publish, running_notify, store, token
from tests.support.servers import Servers
from tests.support.sms_provider import SmsProviderServer
from tests.support.smtp_server import SmtpServer
from tests.support.suite import create_topics
from tests.support.waiting import wait_until

pytestmark = pytest.mark.integration
REMIND_AFTER_S = 3.0


@pytest.fixture(scope="module")
def sms() -> Iterator[SmsProviderServer]:
    server = SmsProviderServer().start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def smtp() -> Iterator[SmtpServer]:
    with SmtpServer() as server:
        yield server


@pytest.fixture(scope="module")
def settings(servers: Servers, namespace: str, service_env: dict[str, str], sms: SmsProviderServer,
             smtp: SmtpServer) -> NotifySettings:
    create_topics(env=service_env)
    return notify_settings(servers=servers, namespace=namespace, sms_url=sms.url, sms_api_key=sms.api_key,
                           smtp_host=smtp.host, smtp_port=smtp.port, smtp_tls="none",
                           evidence_reminder_after_s=REMIND_AFTER_S)


@pytest.fixture(scope="module")
def app(settings: NotifySettings) -> Iterator[TestClient]:
    with running_notify(settings) as client:
        yield client


def texts_to(sms: SmsProviderServer, phone: str) -> list[str]:
    return [m.text for m in sms.messages if m.to == phone]


def assessed(filed: object, *, missing: list[str], at: datetime) -> EvidenceAssessed:
    return EvidenceAssessed(complaint_id=filed.complaint_id, ticket=filed.ticket, occurred_at=at,  # type: ignore[attr-defined]
                            completeness_score=100 if not missing else 60, missing=missing)


def test_missing_evidence_is_texted_then_reminded_unless_completed(app: TestClient, settings: NotifySettings,
                                                                   sms: SmsProviderServer) -> None:
    waiting = complaint_filed(complainant="u-late", phone="13900001111")
    completed = complaint_filed(complainant="u-done", phone="13900002222")
    publish(settings, topic=settings.topics.intake_events, events=[waiting, completed])
    for who in ("u-late", "u-done"):  # both complaints known before their evidence is assessed
        wait_until(lambda w=who: app.get("/v1/inbox", headers=token(settings, subject=w, role="complainant"))
                   .json()["items"], timeout=30, what=f"{who}'s acknowledgement")
    now = datetime.now(UTC)
    publish(settings, topic=settings.topics.evidence_events, events=[
        assessed(waiting, missing=["channel_notice"], at=now),
        assessed(completed, missing=["channel_notice"], at=now),
        assessed(completed, missing=[], at=now + timedelta(seconds=1))])

    texts = wait_until(lambda: len(texts_to(sms, "13900001111")) >= 2 and texts_to(sms, "13900001111"),
                       timeout=30, what="the evidence SMS and its reminder")
    assert all(waiting.ticket in text for text in texts)
    me = token(settings, subject="u-late", role="complainant")
    kinds = [i["event_type"] for i in app.get("/v1/inbox", headers=me).json()["items"]]
    assert "EvidenceReminder" in kinds and "EvidenceAssessed" in kinds
    # The completed file got its first SMS and no reminder, though its reminder time has passed too.
    [text] = wait_until(lambda: texts_to(sms, "13900002222"), timeout=30, what="the completed file's SMS")
    assert "支付渠道" in text and completed.ticket in text  # the one sent for the missing item
    wait_until(lambda: store(settings).reminders.find_one({"complaint_id": completed.complaint_id,
                                                           "state": "cancelled"}), timeout=10, what="cancel")
    assert len(texts_to(sms, "13900002222")) == 1
    assert len(texts_to(sms, "13900001111")) == 2


def test_the_agent_hears_of_a_warning_and_gets_a_daily_digest_of_breaches(
        app: TestClient, settings: NotifySettings, smtp: SmtpServer) -> None:
    agent = token(settings, subject="agent-7", role="agent")
    app.put("/v1/preferences", headers=agent, json={"email": "agent7@example.com", "language": "en"})
    filed = [complaint_filed(complainant=f"u-sla-{n}") for n in range(2)]
    publish(settings, topic=settings.topics.intake_events, events=filed)
    due = datetime.now(UTC) + timedelta(hours=2)
    publish(settings, topic=settings.topics.escalation_events, events=[
        *[CaseAssigned(complaint_id=f.complaint_id, ticket=f.ticket, agent_id="agent-7") for f in filed],
        SlaWarning(complaint_id=filed[0].complaint_id, ticket=filed[0].ticket, clock="first_response", due_at=due),
        *[SlaBreached(complaint_id=f.complaint_id, ticket=f.ticket, clock="first_response", due_at=due)
          for f in filed]])

    wait_until(lambda: [m for m in smtp.messages if m["To"] == "agent7@example.com"
                        and filed[0].ticket in m["Subject"]], timeout=30, what="the warning email")
    digests = store(settings).reminders
    digest = wait_until(lambda: digests.find_one({"kind": "breach_digest", "agent_id": "agent-7",
                                                  "tickets": {"$size": 2}}), timeout=30, what="the digest job")
    beijing = digest["due_at"].astimezone(ZoneInfo("Asia/Shanghai"))
    assert (beijing.hour, beijing.minute) == (9, 0)  # the next 09:00 Beijing time (01:00 UTC), as set
    assert timedelta(0) < digest["due_at"] - datetime.now(UTC) <= timedelta(days=1)
    digests.update_one({"_id": digest["_id"]}, {"$set": {"due_at": datetime.now(UTC)}})  # that morning came
    items = wait_until(lambda: [i for i in app.get("/v1/inbox", headers=agent).json()["items"]
                                if i["event_type"] == "SlaBreachDigest"], timeout=30, what="the digest")
    assert len(items) == 1 and all(f.ticket in items[0]["body"] for f in filed)
