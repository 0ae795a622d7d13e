"""The public status topic read by a plain aiokafka consumer: valid CloudEvents, in order, once, no PII."""

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

from services.notify.config import NotifySettings
from services.notify.domain.status_event import load_schema
from shared.contracts.escalation import ComplaintStatusChanged
from tests.support import kafka
from tests.support.notify_harness import complaint_filed, notify_settings, publish, running_notify
from tests.support.servers import Servers
from tests.support.suite import create_topics

pytestmark = pytest.mark.integration


async def read_status(*, bootstrap: str, topic: str, key: bytes, count: int, timeout: float = 30) -> list[Any]:
    """Every record of one complaint on the public topic, as a partner reads it."""
    consumer = AIOKafkaConsumer(topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest",
                                enable_auto_commit=False, group_id=None)
    await consumer.start()
    found: list[Any] = []
    try:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while loop.time() < deadline and len(found) < count:
            for records in (await consumer.getmany(timeout_ms=300)).values():
                found.extend(r for r in records if r.key == key)
        return found
    finally:
        await consumer.stop()


def change(filed: Any, *, from_state: str, to_state: str, reason: str,
           tier: str = "internal") -> ComplaintStatusChanged:
    return ComplaintStatusChanged(complaint_id=filed.complaint_id, ticket=filed.ticket, from_state=from_state,
                                  to_state=to_state, tier=tier, reason=reason)


@pytest.fixture(scope="module")
def settings(servers: Servers, namespace: str, service_env: dict[str, str]) -> NotifySettings:
    create_topics(env=service_env)
    return notify_settings(servers=servers, namespace=namespace)


@pytest.fixture(scope="module")
def app(settings: NotifySettings) -> Iterator[TestClient]:
    with running_notify(settings) as client:
        yield client


def test_status_changes_become_valid_cloudevents_keyed_and_ordered_once(app: TestClient,
                                                                        settings: NotifySettings) -> None:
    filed = complaint_filed(phone="13812345678")
    changes = [change(filed, from_state="filed", to_state="acknowledged", reason="auto_ack"),
               change(filed, from_state="acknowledged", to_state="under_review", reason="evidence_complete"),
               change(filed, from_state="under_review", to_state="resolved",
                      reason="买家 13812345678 已收到退款", tier="platform")]
    publish(settings, topic=settings.topics.intake_events, events=[filed])
    offsets = publish(settings, topic=settings.topics.escalation_events, events=changes)
    key = filed.complaint_id.encode()
    records = asyncio.run(read_status(bootstrap=settings.kafka_bootstrap_servers,
                                      topic=settings.topics.public_status, key=key, count=4))
    # Issue 23: the filing is the complaint's first record (from_state null), then one per change.
    assert len(records) == 4
    # The broker redelivers the last change: the topic must not get a second copy.
    partition, offset = asyncio.run(kafka.resend(bootstrap=settings.kafka_bootstrap_servers, record=asyncio.run(
        kafka.read_until(bootstrap=settings.kafka_bootstrap_servers, topic=settings.topics.escalation_events,
                         match=lambda r: r.offset == offsets[-1][1] and r.partition == offsets[-1][0]))))
    asyncio.run(kafka.committed_past(bootstrap=settings.kafka_bootstrap_servers, group=settings.consumer_group,
                                     topic=settings.topics.escalation_events, partition=partition, offset=offset))
    again = asyncio.run(read_status(bootstrap=settings.kafka_bootstrap_servers,
                                    topic=settings.topics.public_status, key=key, count=5, timeout=3))
    assert len(again) == 4

    validator = Draft202012Validator(load_schema(), format_checker=Draft202012Validator.FORMAT_CHECKER)
    events = []
    for record in records:
        headers = {name: value for name, value in record.headers}
        assert headers["content-type"].startswith(b"application/cloudevents+json")
        event = from_structured_event(KafkaMessage(headers=headers, key=record.key, value=record.value))
        validator.validate(event.get_data())
        events.append(event)
    assert [e.get_type() for e in events] == ["org.complaints-suite.complaint.status_changed.v1"] * 4
    assert {e.get_subject() for e in events} == {filed.complaint_id}
    assert [e.get_data()["to_state"] for e in events] == ["filed", "acknowledged", "under_review", "resolved"]
    assert events[0].get_data()["from_state"] is None
    assert events[2].get_data()["reason_code"] == "evidence_complete"
    assert events[3].get_data()["reason_code"] is None  # free text may carry PII: never published
    assert len({e.get_id() for e in events}) == 4
    raw = b"".join(r.value for r in records)
    assert b"13812345678" not in raw and "小王".encode() not in raw
    assert json.loads(records[0].value)["specversion"] == "1.0"


def test_the_asyncapi_document_describes_the_status_topic_and_notify_events(app: TestClient,
                                                                            settings: NotifySettings) -> None:
    document = app.get("/asyncapi.json").json()
    text = json.dumps(document)
    assert settings.topics.public_status in text and settings.topics.notify_events in text
    for name in ("ComplaintStatusChangedCloudEvent", "ComplaintStatusData", "NotificationSent"):
        assert name in document["components"]["schemas"], sorted(document["components"]["schemas"])
    envelope = document["components"]["schemas"]["ComplaintStatusChangedCloudEvent"]
    assert {"specversion", "id", "source", "type", "subject", "time", "data"} <= set(envelope["required"])
