"""Poison on every consumed topic: each consumer parks it on the dead-letter topic with its
reason, survives, and processes the next good message."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime

import httpx
import pytest

from shared.contracts.complaints import FileComplaint
from shared.contracts.evidence import PaymentRecordPublished
from shared.money import Money
from shared.runtime.supervisor import ServiceProcess
from shared.topics import TopicSettings
from tests.support import kafka
from tests.support.filing_replies import ACCEPTED, reply_of
from tests.support.intake_calls import body, token
from tests.support.metrics import scrape, total
from tests.support.waiting import wait_until

pytestmark = pytest.mark.e2e

POISONS = {
    "invalid JSON": b"{\"type\": \"ComplaintFiled\",",
    "schema violation": json.dumps({"type": "ComplaintFiled", "complaint_id": "c", "ticket": "t"}).encode(),
    "unsupported schema_version": json.dumps({"type": "ComplaintFiled", "schema_version": 42}).encode(),
    "payload too large": json.dumps({"type": "ComplaintFiled", "pad": "x" * 300_000}).encode(),
    "unknown message type": json.dumps({"type": "NoSuchEvent"}).encode(),
}


def consumers(suite: dict[str, ServiceProcess]) -> dict[tuple[str, str], dict]:
    """(service, topic) → that consumer's stats, from each service's /readyz."""
    found = {}
    for name, svc in suite.items():
        for stats in httpx.get(f"{svc.url}/readyz", timeout=5).json()["consumers"]:
            found[(name, stats["topic"])] = stats
    return found


def test_every_consumer_parks_poison_and_goes_on(suite: dict[str, ServiceProcess], suite_topics: TopicSettings,
                                                 suite_env: dict[str, str]) -> None:
    topics, bootstrap = suite_topics, suite_env["KAFKA_BOOTSTRAP_SERVERS"]
    before = consumers(suite)
    assert {t for _, t in before} == set(topics.consumed()), "every consumed topic has a consumer"

    async def poison_everything() -> None:
        for topic in topics.consumed():
            for value in POISONS.values():
                await kafka.send(bootstrap=bootstrap, topic=topic, value=value, key=b"poison")

    asyncio.run(poison_everything())
    for (service, topic), stats in before.items():
        wait_until(lambda s=service, t=topic, b=stats["dead_lettered"]:
                   consumers(suite)[(s, t)]["dead_lettered"] >= b + len(POISONS),
                   timeout=60, what=f"{service} to park every poison from {topic}")
    for (service, topic), stats in before.items():  # and /metrics counts what each consumer parked
        parked = total(scrape(httpx, suite[service].url), "complaints_consumer_records_dead_lettered_total",
                       topic=topic)
        assert parked >= stats["dead_lettered"] + len(POISONS), (service, topic, parked)
    for topic in topics.consumed():
        for reason, value in POISONS.items():
            record = asyncio.run(kafka.read_until(bootstrap=bootstrap, topic=topics.dead_letter(topic),
                                                  match=lambda r, v=value: r.value == v))
            headers = {k: v.decode() for k, v in record.headers}
            assert reason in headers["dlq-reason"], headers
            assert headers["dlq-original-topic"] == topic
            assert record.key == b"poison", "the dead letter keeps the original record's key"
            assert "'utf-16" not in headers["dlq-reason"] and "codec can't decode" not in headers["dlq-reason"]

    # The next good messages: an HTTP filing runs through every event topic, a command and a
    # payment record through the other two.
    complaint = body(**{"order.number": "AFTER-POISON-1"})
    agent = token("agent-1", "agent", platform=complaint["platform"])
    filed = httpx.post(f"{suite['intake'].url}/v1/complaints", json=complaint, headers=agent, timeout=10)
    assert filed.status_code == 201, filed.text
    command = FileComplaint(platform_reference="ref-after-poison",
                            complaint=body(**{"order.number": "AFTER-POISON-2"}))
    record = PaymentRecordPublished(source="alipay", transaction_id="T-AFTER-POISON", order_number="X1",
                                    amount=Money(amount_minor=100, currency="CNY"), status="paid",
                                    at=datetime.now(UTC))

    async def send_good() -> None:
        await kafka.send(bootstrap=bootstrap, topic=topics.intake_commands, value=command.encode(),
                         key=command.key().encode())
        await kafka.send(bootstrap=bootstrap, topic=topics.payment_records, value=record.encode(),
                         key=record.key().encode())

    asyncio.run(send_good())
    ticket = filed.json()["ticket"]

    def acknowledged() -> bool:
        current = httpx.get(f"{suite['intake'].url}/v1/complaints/{ticket}", headers=agent, timeout=10).json()
        steps = {e["service"] for e in current["timeline"]}
        return current["status"] == "acknowledged" and {"evidence", "escalation", "notify"} <= steps

    wait_until(acknowledged, timeout=60, what="a good complaint after the poison")
    reply = asyncio.run(kafka.read_until(bootstrap=bootstrap, topic=topics.intake_replies,
                                         match=lambda r: b"ref-after-poison" in r.value))
    assert reply_of(reply)["type"] == ACCEPTED
    wait_until(lambda: consumers(suite)[("evidence", topics.payment_records)]["processed"]
               > before[("evidence", topics.payment_records)]["processed"],
               timeout=30, what="the payment record after the poison")
