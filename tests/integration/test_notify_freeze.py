"""The freeze reaches someone: the partner's webhook gets what to freeze, the buyer is told at once to
call the bank and report the fraud (110/96110), once per complaint though intake and escalation both ask."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer
from cloudevents.core.bindings.kafka import KafkaMessage, from_structured_event
from fastapi.testclient import TestClient
from jsonschema import Draft202012Validator
from standardwebhooks import Webhook

from services.notify.config import NotifySettings
from services.notify.domain.status_event import FREEZE_EVENT_TYPE, load_freeze_schema
from shared.contracts.complaints import AccountFreezeRequested
from shared.contracts.escalation import AccountFreezeConfirmed
from tests.support import kafka
from tests.support.notify_harness import complaint_filed, notify_settings, publish, running_notify, token
from tests.support.servers import Servers
from tests.support.sms_provider import SmsProviderServer
from tests.support.smtp_server import SmtpServer
from tests.support.suite import create_topics
from tests.support.waiting import wait_until
from tests.support.webhook_receiver import WebhookReceiver

pytestmark = pytest.mark.integration

PLATFORM = "p-freeze"
TOLD = {"zh-CN": ["致电发卡银行", "冻结银行卡或支付账户", "110", "96110", "反电信网络诈骗法", "报案回执"],
        "en": ["Call your card issuer", "freeze the card", "110", "96110", "police receipt (报案回执)"]}


@pytest.fixture(scope="module")
def smtp() -> Iterator[SmtpServer]:
    with SmtpServer() as server:
        yield server


@pytest.fixture(scope="module")
def sms() -> Iterator[SmsProviderServer]:
    server = SmsProviderServer().start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def settings(servers: Servers, namespace: str, service_env: dict[str, str], smtp: SmtpServer,
             sms: SmsProviderServer) -> NotifySettings:
    create_topics(env=service_env)
    return notify_settings(servers=servers, namespace=namespace, smtp_host=smtp.host, smtp_port=smtp.port,
                           smtp_tls="none", sms_url=sms.url, sms_api_key=sms.api_key)


@pytest.fixture(scope="module")
def app(settings: NotifySettings) -> Iterator[TestClient]:
    with running_notify(settings) as client:
        yield client


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    server = WebhookReceiver().start()
    yield server
    server.stop()


def text_of(message) -> str:  # type: ignore[no-untyped-def]
    return message.get_body(preferencelist=("plain",)).get_content()


async def read_status(settings: NotifySettings, *, key: bytes, wait: float = 5) -> list[Any]:
    """The complaint's records on the public status topic, read for `wait` seconds (a second copy would show)."""
    consumer = AIOKafkaConsumer(settings.topics.public_status, bootstrap_servers=settings.kafka_bootstrap_servers,
                                auto_offset_reset="earliest", enable_auto_commit=False, group_id=None)
    await consumer.start()
    found: list[Any] = []
    try:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + wait
        while loop.time() < deadline:
            for records in (await consumer.getmany(timeout_ms=300)).values():
                found.extend(r for r in records if r.key == key)
        return found
    finally:
        await consumer.stop()


def settled(settings: NotifySettings, topic: str, sent: tuple[int, int]) -> None:
    asyncio.run(kafka.committed_past(bootstrap=settings.kafka_bootstrap_servers, group=settings.consumer_group,
                                     topic=topic, partition=sent[0], offset=sent[1]))


@pytest.mark.parametrize("language", ["zh-CN", "en"])
def test_a_freeze_request_reaches_the_partner_and_the_buyer_once(
        app: TestClient, settings: NotifySettings, smtp: SmtpServer, sms: SmsProviderServer,
        receiver: WebhookReceiver, language: str) -> None:
    platform = f"{PLATFORM}-{language.lower()}"
    partner = token(settings, subject=f"{platform}-integration", role="partner", platform=platform)
    sub = app.post("/v1/subscriptions", headers=partner,
                   json={"url": receiver.url, "event_types": ["AccountFreezeRequested"]})
    assert sub.status_code == 201, sub.text
    address = f"stolen-card-{language.lower()}@example.com"
    phone = "13812345678" if language == "zh-CN" else "13812345679"
    filed = complaint_filed(complainant=f"u-freeze-{language}", language=language, email=address,
                            phone=phone, platform=platform)
    publish(settings, topic=settings.topics.intake_events, events=[filed])
    ids = {"complaint_id": filed.complaint_id, "ticket": filed.ticket}
    # Intake asks at filing without the order number (the complaint's own is sent); escalation asks again.
    asked = {"platform": platform, "payment_channel": "alipay", "freeze": ["account", "payment_instrument"]}
    at_filing = AccountFreezeRequested(
        **ids, **asked, reason=f"unauthorized charge reported on order 202611230001; buyer phone {phone}")
    from_intake = publish(settings, topic=settings.topics.intake_events, events=[at_filing])[0]
    routed = AccountFreezeRequested(**ids, **asked, reason="unauthorized_charge", order_number="202611230001",
                                    transaction_id="2026112322001400001")
    from_escalation = publish(settings, topic=settings.topics.escalation_events, events=[routed])[0]

    [request] = receiver.wait_for(count=1, timeout=30)
    payload = Webhook(sub.json()["secret"]).verify(request.body, request.headers)
    # Issue 23: the body is the public CloudEvent, the same type as on the status topic; no free text.
    assert payload["type"] == FREEZE_EVENT_TYPE
    data = payload["data"]
    assert data["ticket"] == filed.ticket and data["freeze"] == ["account", "payment_instrument"]
    assert data["order_number"] == "202611230001" and data["payment_channel"] == "alipay"
    # Whichever request came first is the one told: intake's free text (dropped) or escalation's code.
    assert data["reason_code"] in (None, "unauthorized_charge") and "reason" not in data
    assert phone.encode() not in request.body and address.encode() not in request.body

    [mail] = wait_until(lambda: [m for m in smtp.messages if m["To"] == address and "96110" in text_of(m)],
                        timeout=30, what="the buyer's freeze email")
    assert all(word in text_of(mail) for word in TOLD[language]), text_of(mail)
    [text] = wait_until(lambda: [m.text for m in sms.messages if m.to == phone], timeout=30,
                        what="the buyer's freeze SMS (no deadline: sent at once)")
    assert "110" in text and "96110" in text, text
    me = token(settings, subject=f"u-freeze-{language}", role="complainant", platform=platform)
    inbox = app.get("/v1/inbox", headers=me).json()["items"]
    assert [i for i in inbox if i["event_type"] == "AccountFreezeRequested" and "96110" in i["body"]]

    # Both requests were handled; each reader was told once.
    settled(settings, settings.topics.intake_events, from_intake)
    settled(settings, settings.topics.escalation_events, from_escalation)
    confirmed = AccountFreezeConfirmed(**ids, confirmed_by="partner", note="card 6222 frozen")
    publish(settings, topic=settings.topics.escalation_events, events=[confirmed])
    wait_until(lambda: [i for i in app.get("/v1/inbox", headers=me).json()["items"]
                        if i["event_type"] == "AccountFreezeConfirmed"], timeout=30, what="the confirmation")
    inbox = app.get("/v1/inbox", headers=me).json()["items"]
    assert len([i for i in inbox if i["event_type"] == "AccountFreezeRequested"]) == 1
    assert len([m for m in smtp.messages if m["To"] == address and "96110" in text_of(m)]) == 1
    log = app.get(f"/v1/subscriptions/{sub.json()['id']}/deliveries", headers=partner).json()["items"]
    assert [d["event_type"] for d in log] == ["AccountFreezeRequested"]  # pending ones are listed too
    assert len(receiver.requests) == 1
    assert len([m for m in sms.messages if m.to == phone]) == 1
    published = [r for r in asyncio.run(read_status(settings, key=filed.complaint_id.encode()))
                 if json.loads(r.value)["type"] == FREEZE_EVENT_TYPE]
    assert len(published) == 1  # once per complaint on the public topic too (after the filing's record)
    headers = {name: value for name, value in published[0].headers}
    event = from_structured_event(KafkaMessage(headers=headers, key=published[0].key, value=published[0].value))
    assert event.get_type() == FREEZE_EVENT_TYPE and event.get_subject() == filed.complaint_id
    Draft202012Validator(load_freeze_schema()).validate(event.get_data())
    assert event.get_data()["freeze"] == ["account", "payment_instrument"]
    assert phone.encode() not in published[0].value and event.get_data()["reason_code"] in (None, "unauthorized_charge")
    [done] = [i for i in inbox if i["event_type"] == "AccountFreezeConfirmed"]
    assert ("冻结已确认" in done["subject"]) if language == "zh-CN" else ("Freeze confirmed" in done["subject"])

