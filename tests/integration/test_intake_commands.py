"""Filing by Kafka: FileComplaint in, a CloudEvent out (filing.accepted.v1 or filing.rejected.v1, structured
mode, as a partner's cloudevents SDK reads it), repeats answered alike."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from shared.contracts.complaints import FileComplaint
from shared.topics import TopicSettings
from tests.support import kafka
from tests.support.filing_replies import ACCEPTED, REJECTED, replies_now, reply_of
from tests.support.intake_calls import body, running_intake, token
from tests.support.suite import create_topics
from tests.support.waiting import wait_until

pytestmark = pytest.mark.integration

PARTNER = token("kameng-integration", "partner", platform="kameng-example")


@pytest.fixture(scope="module")
def topics(service_env: dict[str, str]) -> TopicSettings:
    return create_topics(env=service_env)


@pytest.fixture(scope="module")
def intake(service_env: dict[str, str], topics: TopicSettings,
           tmp_path_factory: pytest.TempPathFactory) -> Iterator[httpx.Client]:
    with running_intake(env=service_env, log_dir=tmp_path_factory.mktemp("logs")) as client:
        yield client


def send(service_env: dict[str, str], topics: TopicSettings, reference: str, complaint: dict[str, Any]) -> None:
    command = FileComplaint(platform_reference=reference, complaint=complaint)
    asyncio.run(kafka.send(bootstrap=service_env["KAFKA_BOOTSTRAP_SERVERS"], topic=topics.intake_commands,
                           value=command.encode(), key=reference.encode()))


def replies(service_env: dict[str, str], topics: TopicSettings, reference: str, count: int = 1) -> list[dict[str, Any]]:
    def found() -> list[dict[str, Any]] | None:
        mine = [m for m in replies_now(bootstrap=service_env["KAFKA_BOOTSTRAP_SERVERS"], topic=topics.intake_replies)
                if m["platform_reference"] == reference]
        return mine if len(mine) >= count else None

    return wait_until(found, timeout=30, what=f"{count} replies to {reference}")


def test_a_good_command_is_filed_and_accepted_with_its_ticket(
    intake: httpx.Client, service_env: dict[str, str], topics: TopicSettings
) -> None:
    send(service_env, topics, "ref-ok-1", body(**{"order.number": "KM-CMD-1", "category": ...}))
    (accepted,) = replies(service_env, topics, "ref-ok-1")
    assert accepted["type"] == ACCEPTED and accepted["already_existed"] is False
    assert accepted["_key"] == "kameng-example:ref-ok-1" and accepted["platform"] == "kameng-example"
    filed = intake.get(f"/v1/complaints/{accepted['ticket']}", headers=PARTNER).json()
    assert accepted["complaint_id"] == filed["id"]
    assert filed["source"] == "kafka"
    assert filed["category"] == "invalid-card-key" and filed["category_inferred"] is True
    assert filed["complainant"]["display_name"] == "张小明😀"


def test_a_repeated_command_gets_the_same_answer_and_files_nothing_more(
    intake: httpx.Client, service_env: dict[str, str], topics: TopicSettings
) -> None:
    complaint = body(**{"order.number": "KM-CMD-2"})
    send(service_env, topics, "ref-twice", complaint)
    send(service_env, topics, "ref-twice", complaint)
    first, second = replies(service_env, topics, "ref-twice", count=2)
    assert first["type"] == second["type"] == ACCEPTED
    assert (first["ticket"], first["complaint_id"]) == (second["ticket"], second["complaint_id"])
    assert first["already_existed"] == second["already_existed"] is False
    items = intake.get("/v1/complaints", headers=PARTNER).json()["items"]
    assert [c["order"]["number"] for c in items].count("KM-CMD-2") == 1


def test_a_bad_command_is_rejected_with_field_errors(service_env: dict[str, str], topics: TopicSettings,
                                                     intake: httpx.Client) -> None:
    send(service_env, topics, "ref-bad-1", body(**{"order.number": "KM-CMD-3", "order.amount": -1,
                                                   "order.currency": "RMB"}))
    (rejected,) = replies(service_env, topics, "ref-bad-1")
    assert rejected["type"] == REJECTED
    assert {(e["field"], e["rule"]) for e in rejected["errors"]} == {("order.amount", "gt"),
                                                                      ("order.currency", "iso4217")}
    assert all(e["message_zh"] for e in rejected["errors"])


def test_a_command_for_an_order_already_filed_by_http_answers_with_that_ticket(
    intake: httpx.Client, service_env: dict[str, str], topics: TopicSettings
) -> None:
    complaint = body(**{"order.number": "KM-CMD-4"})
    ticket = intake.post("/v1/complaints", json=complaint, headers=PARTNER).json()["ticket"]
    send(service_env, topics, "ref-late-1", complaint)
    (accepted,) = replies(service_env, topics, "ref-late-1")
    assert (accepted["ticket"], accepted["already_existed"]) == (ticket, True)


def test_a_reference_reused_for_another_complaint_is_rejected(
    intake: httpx.Client, service_env: dict[str, str], topics: TopicSettings
) -> None:
    send(service_env, topics, "ref-reuse", body(**{"order.number": "KM-CMD-5"}))
    send(service_env, topics, "ref-reuse", body(**{"order.number": "KM-CMD-6"}))
    first, second = replies(service_env, topics, "ref-reuse", count=2)
    assert first["type"] == ACCEPTED
    assert second["type"] == REJECTED
    assert second["errors"][0]["rule"] == "reference_reused"


async def _partner_replies(bootstrap: str, topic: str, *, platform: str, reference: str,
                           timeout: float = 30.0) -> list[Any]:
    """What a platform's own consumer reads of the reply topic: the records under its key prefix
    `platform:` (aiokafka, from the start), here those for one reference."""
    consumer = AIOKafkaConsumer(topic, bootstrap_servers=bootstrap, group_id=None, auto_offset_reset="earliest",
                                enable_auto_commit=False)
    await consumer.start()
    found: list[Any] = []
    try:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and not found:
            for batch in (await consumer.getmany(timeout_ms=500)).values():
                found.extend(r for r in batch if (r.key or b"").decode().startswith(f"{platform}:")
                             and reply_of(r).get_data()["platform_reference"] == reference)
        return found
    finally:
        await consumer.stop()


def test_two_platforms_with_one_reference_get_replies_keyed_apart_each_naming_its_platform(
    intake: httpx.Client, service_env: dict[str, str], topics: TopicSettings
) -> None:
    send(service_env, topics, "ref-shared", body(**{"order.number": "KM-CMD-SHARED-A"}))
    send(service_env, topics, "ref-shared", body(**{"platform": "another-market", "order.number": "KM-CMD-SHARED-B"}))
    bootstrap = service_env["KAFKA_BOOTSTRAP_SERVERS"]
    (mine,) = asyncio.run(_partner_replies(bootstrap, topics.intake_replies, platform="kameng-example",
                                           reference="ref-shared"))
    (theirs,) = asyncio.run(_partner_replies(bootstrap, topics.intake_replies, platform="another-market",
                                             reference="ref-shared"))
    assert (mine.key, theirs.key) == (b"kameng-example:ref-shared", b"another-market:ref-shared")
    mine_event, theirs_event = reply_of(mine), reply_of(theirs)
    mine_body, theirs_body = mine_event.get_data(), theirs_event.get_data()
    # Both filed (one reference on two platforms is no reuse), each naming its own platform.
    assert mine_event["type"] == theirs_event["type"] == ACCEPTED
    assert (mine_body["platform"], theirs_body["platform"]) == ("kameng-example", "another-market")
    assert mine_body["ticket"] != theirs_body["ticket"]
    shown = intake.get(f"/v1/complaints/{mine_body['ticket']}", headers=PARTNER)
    assert shown.status_code == 200 and shown.json()["order"]["number"] == "KM-CMD-SHARED-A"
    other = token("other-integration", "partner", platform="another-market")
    assert intake.get(f"/v1/complaints/{theirs_body['ticket']}", headers=other).json()["order"]["number"] \
        == "KM-CMD-SHARED-B"


POISON_COMMANDS = {
    # what arrives → what the dead letter's reason must tell the sender
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR": ("not UTF-8", "0x89 0x50 0x4e 0x47", "application/json"),
    b'{"type": "FileComplaint", "platform_reference": ': ("invalid JSON", "line 1 column", "complete JSON object"),
    json.dumps({"type": "FileComplaint", "complaint": {}}).encode():
        ("schema violation in FileComplaint", "platform_reference: Field required", "rule missing"),
    json.dumps({"type": "FileComplaints", "platform_reference": "x"}).encode():
        ("unknown message type: 'FileComplaints'", "the types read here are FileComplaint"),
}


@pytest.mark.parametrize("value", list(POISON_COMMANDS), ids=["binary", "bad-json", "schema", "unknown-type"])
def test_a_poison_command_is_parked_as_it_came_with_a_reason_to_act_on(
    intake: httpx.Client, service_env: dict[str, str], topics: TopicSettings, value: bytes
) -> None:
    bootstrap = service_env["KAFKA_BOOTSTRAP_SERVERS"]
    key = f"ref-poison-{uuid.uuid4().hex[:8]}".encode()
    headers = [("content-type", b"application/json"), ("x-partner-trace", b"trace-77"),
               ("x-binary", b"\xff\x00\x01")]

    async def produce() -> None:
        producer = AIOKafkaProducer(bootstrap_servers=bootstrap)
        await producer.start()
        try:
            await producer.send_and_wait(topics.intake_commands, value, key=key, headers=headers)
        finally:
            await producer.stop()

    asyncio.run(produce())
    parked = asyncio.run(kafka.read_until(bootstrap=bootstrap, topic=topics.dead_letter(topics.intake_commands),
                                          match=lambda r: r.key == key, timeout=60))
    assert parked.value == value
    got = dict(parked.headers)
    assert got["content-type"] == b"application/json"
    assert got["x-partner-trace"] == b"trace-77"
    assert got["x-binary"] == b"ff0001" and got["dlq-hex-headers"] == b"x-binary"
    assert got["dlq-original-topic"] == topics.intake_commands.encode()
    assert got["dlq-consumer"] == b"intake"
    reason = got["dlq-reason"].decode()
    for words in POISON_COMMANDS[value]:
        assert words in reason, reason
    assert "codec can't decode" not in reason
