"""Email over real SMTP: one message per language read back from the server, and never twice."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from services.notify.config import NotifySettings
from tests.support import kafka
from tests.support.notify_harness import complaint_filed, notify_settings, publish, running_notify, token
from tests.support.servers import Servers
from tests.support.smtp_server import SmtpServer
from tests.support.suite import create_topics
from tests.support.waiting import wait_until

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def smtp() -> Iterator[SmtpServer]:
    with SmtpServer(login=("notify", "s3cret-pass")) as server:
        yield server


@pytest.fixture(scope="module")
def settings(servers: Servers, namespace: str, service_env: dict[str, str], smtp: SmtpServer) -> NotifySettings:
    create_topics(env=service_env)
    return notify_settings(servers=servers, namespace=namespace, smtp_host=smtp.host, smtp_port=smtp.port,
                           smtp_tls="none", smtp_username="notify", smtp_password="s3cret-pass",
                           smtp_sender="Complaints <no-reply@complaints.test>")


@pytest.fixture(scope="module")
def app(settings: NotifySettings) -> Iterator[TestClient]:
    with running_notify(settings) as client:
        yield client


def messages_to(smtp: SmtpServer, address: str) -> list:
    return [m for m in smtp.messages if m["To"] == address]


@pytest.mark.parametrize(("language", "subject_word", "body_words"), [
    ("zh-CN", "投诉", ["受理编号", "北京时间"]),
    ("en", "Complaint", ["Ticket", "Beijing time"]),
])
def test_the_complainant_gets_one_email_in_their_language(app: TestClient, settings: NotifySettings,
                                                          smtp: SmtpServer, language: str, subject_word: str,
                                                          body_words: list[str]) -> None:
    address = f"buyer-{language.lower()}@example.com"
    event = complaint_filed(complainant=f"u-{language}", language=language, email=address)
    publish(settings, topic=settings.topics.intake_events, events=[event])

    [message] = wait_until(lambda: messages_to(smtp, address), timeout=30, what=f"the {language} email")
    assert event.ticket in message["Subject"] and subject_word in message["Subject"]
    assert message["Content-Language"] == language
    text = message.get_body(preferencelist=("plain",)).get_content()
    html = message.get_body(preferencelist=("html",)).get_content()
    assert all(word in text for word in body_words), text
    assert event.ticket in html
    assert "13812345678" not in text


def test_a_duplicated_event_sends_nothing_twice(app: TestClient, settings: NotifySettings,
                                                smtp: SmtpServer) -> None:
    address = "twice@example.com"
    event = complaint_filed(complainant="u-twice", email=address)
    publish(settings, topic=settings.topics.intake_events, events=[event])
    wait_until(lambda: messages_to(smtp, address), timeout=30, what="the first email")
    partition, offset = publish(settings, topic=settings.topics.intake_events, events=[event])[0]
    asyncio.run(kafka.committed_past(bootstrap=settings.kafka_bootstrap_servers, group=settings.consumer_group,
                                     topic=settings.topics.intake_events, partition=partition, offset=offset))
    later = complaint_filed(complainant="u-twice-later", email="later@example.com")
    publish(settings, topic=settings.topics.intake_events, events=[later])
    wait_until(lambda: messages_to(smtp, "later@example.com"), timeout=30, what="a later email")

    assert len(messages_to(smtp, address)) == 1
    inbox = app.get("/v1/inbox", headers=token(settings, subject="u-twice", role="complainant")).json()
    assert [item["ticket"] for item in inbox["items"]] == [event.ticket]
