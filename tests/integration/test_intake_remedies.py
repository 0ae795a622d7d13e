"""Remedies as the law has them, actors on the timeline, and references left readable — through intake's API and
Kafka."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from pymongo import MongoClient
from pymongo.collection import Collection

from shared.contracts.complaints import FileComplaint
from shared.contracts.escalation import CaseOpened, ComplaintStatusChanged
from shared.contracts.evidence import EvidenceFileOpened, EvidenceSubmitted
from shared.contracts.notify import NotificationSent
from shared.contracts.vocabulary import Category
from shared.envelope import Message
from shared.topics import TopicSettings
from tests.support import kafka
from tests.support.filing_replies import ACCEPTED, REJECTED, replies_now
from tests.support.intake_calls import (
    DATA,
    body,
    complainant_of,
    running_intake,
    token,
    topic_messages,
)
from tests.support.suite import create_topics
from tests.support.waiting import wait_until

pytestmark = pytest.mark.integration

CASES = json.loads((DATA / "remedies.json").read_text(encoding="utf-8"))
AGENT = token("agent-7", "agent", platform="kameng-example")


@pytest.fixture(scope="module")
def topics(service_env: dict[str, str]) -> TopicSettings:
    return create_topics(env=service_env)


@pytest.fixture(scope="module")
def intake(service_env: dict[str, str], topics: TopicSettings,
           tmp_path_factory: pytest.TempPathFactory) -> Iterator[httpx.Client]:
    with running_intake(env=service_env, log_dir=tmp_path_factory.mktemp("logs")) as client:
        yield client


@pytest.fixture(scope="module")
def complaints(service_env: dict[str, str]) -> Iterator[Collection]:
    with MongoClient(service_env["MONGODB_URI"]) as client:
        yield client[service_env["INTAKE_MONGODB_DB"]]["complaints"]


def case_body(name: str, order_number: str) -> dict[str, Any]:
    case = CASES[name]
    changes: dict[str, Any] = {"order.number": order_number, "order.amount": case["order_amount"],
                               "demand": case["demand"]}
    if "category" in case:
        changes["category"] = case["category"]
    if "what_happened" in case:
        changes["description.what_happened"] = case["what_happened"]
    return body(**changes)


def file(intake: httpx.Client, sent: dict[str, Any], expect: int = 201) -> dict[str, Any]:
    response = intake.post("/v1/complaints", json=sent, headers=complainant_of(sent))
    assert response.status_code == expect, response.text
    return response.json()


def published(service_env: dict[str, str], topic: str, kind: str, **match: Any) -> dict[str, Any]:
    def find() -> dict[str, Any] | None:
        return next((m for m in topic_messages(bootstrap=service_env["KAFKA_BOOTSTRAP_SERVERS"], topic=topic)
                     if m["type"] == kind and all(m.get(k) == v for k, v in match.items())), None)

    return wait_until(find, timeout=30, what=f"{kind} {match} on {topic}")


def replied(service_env: dict[str, str], topic: str, kind: str, **match: Any) -> dict[str, Any]:
    """A reply on the replies topic (a CloudEvent of type `kind`): its data, matching `match`."""
    def find() -> dict[str, Any] | None:
        return next((m for m in replies_now(bootstrap=service_env["KAFKA_BOOTSTRAP_SERVERS"], topic=topic)
                     if m["type"] == kind and all(m.get(k) == v for k, v in match.items())), None)

    return wait_until(find, timeout=30, what=f"{kind} {match} on {topic}")


def send(service_env: dict[str, str], topic: str, message: Message, key: str) -> None:
    asyncio.run(kafka.send(bootstrap=service_env["KAFKA_BOOTSTRAP_SERVERS"], topic=topic,
                           value=message.encode(), key=key.encode()))


def test_seed_003_refund_29_and_10_for_the_delay_is_filed_shown_and_sent_as_one_demand(
    intake: httpx.Client, service_env: dict[str, str], topics: TopicSettings
) -> None:
    sent = case_body("seed_003", "KM-REM-003")
    filed = file(intake, sent)
    expected = CASES["seed_003"]["stored"]
    assert filed["demand"] == expected
    assert intake.get(f"/v1/complaints/{filed['ticket']}", headers=AGENT).json()["demand"] == expected
    event = published(service_env, topics.intake_events, "ComplaintFiled", ticket=filed["ticket"])
    assert event["demand"] == expected


@pytest.mark.parametrize("name", ["fraud_triple_300", "fraud_triple_99"])
def test_fraud_triple_is_the_refund_plus_three_times_the_price_at_least_500_cny(
    intake: httpx.Client, service_env: dict[str, str], topics: TopicSettings, name: str
) -> None:
    filed = file(intake, case_body(name, f"KM-REM-{name}"))
    expected = CASES[name]["stored"]
    assert filed["category"] == CASES[name]["category"]
    assert filed["demand"] == expected
    event = published(service_env, topics.intake_events, "ComplaintFiled", ticket=filed["ticket"])
    assert (event["demand"]["refund"], event["demand"]["compensation"]) == (expected["refund"],
                                                                           expected["compensation"])


def test_fraud_triple_is_refused_for_slow_service_naming_the_field_and_the_rule(intake: httpx.Client) -> None:
    sent = body(**{"order.number": "KM-REM-RUDE", "category": "slow-or-rude-service",
                   "demand": {"type": "fraud_triple"}})
    (error,) = file(intake, sent, expect=422)["errors"]
    assert (error["field"], error["rule"]) == ("demand.type", "fraud_triple_category")
    assert "slow-or-rude-service" in error["message_en"] and "退一赔三" in error["message_zh"]
    # Nothing was filed: the same order may be filed with a demand that fits.
    assert file(intake, sent | {"demand": CASES["seed_003"]["demand"]})["demand"]["type"] == "refund_and_compensation"


def test_a_platform_s_fraud_triple_command_is_computed_or_rejected_like_a_request(
    intake: httpx.Client, service_env: dict[str, str], topics: TopicSettings
) -> None:
    good = FileComplaint(platform_reference="ref-rem-good", complaint=case_body("fraud_triple_300", "KM-REM-CMD-1"))
    bad = FileComplaint(platform_reference="ref-rem-bad", complaint=body(**{
        "order.number": "KM-REM-CMD-2", "category": "slow-or-rude-service", "demand": {"type": "fraud_triple"}}))
    # One key, one partition, most likely one poll: the rejection first, then the filing.
    for command in (bad, good):
        send(service_env, topics.intake_commands, command, "ref-rem")
    accepted = replied(service_env, topics.intake_replies, ACCEPTED, platform_reference="ref-rem-good")
    rejected = replied(service_env, topics.intake_replies, REJECTED, platform_reference="ref-rem-bad")
    view = intake.get(f"/v1/complaints/{accepted['ticket']}", headers=AGENT).json()
    assert view["demand"] == CASES["fraud_triple_300"]["stored"]
    assert view["timeline"][0]["actor"] == {"role": "partner", "id": "platform:kameng-example"}
    assert [(e["field"], e["rule"]) for e in rejected["errors"]] == [("demand.type", "fraud_triple_category")]


def test_the_timeline_shows_who_took_every_step_and_each_evidence_item(
    intake: httpx.Client, service_env: dict[str, str], topics: TopicSettings, complaints: Collection
) -> None:
    sent = body(**{"order.number": "KM-REM-ACTORS"})
    ticket, owner = file(intake, sent)["ticket"], complainant_of(sent)
    assert intake.post(f"/v1/complaints/{ticket}/statements", json={"text": "商家至今未回复"},
                       headers=owner).status_code == 201
    ids = {"complaint_id": complaints.find_one({"ticket": ticket})["_id"], "ticket": ticket}
    start = datetime.now(UTC) + timedelta(seconds=1)
    steps: list[tuple[str, Message]] = [
        (topics.escalation_events, CaseOpened(**ids, tier="internal", state="acknowledged", occurred_at=start)),
        (topics.evidence_events, EvidenceFileOpened(**ids, required_kinds=["order_screenshot"],
                                                    occurred_at=start + timedelta(seconds=1))),
        (topics.escalation_events, ComplaintStatusChanged(
            **ids, from_state="acknowledged", to_state="awaiting_evidence", tier="internal", actor_role="agent",
            actor_id="agent-7", action="request_evidence", occurred_at=start + timedelta(seconds=2))),
        (topics.evidence_events, EvidenceSubmitted(
            **ids, evidence_id="ev-1", number=1, kind="order_screenshot", sha256="a" * 64, size=2048,
            occurred_at=start + timedelta(seconds=3))),
        (topics.notify_events, NotificationSent(
            **ids, about_event_id="e-1", about_event_type="ComplaintStatusChanged", recipient_role="complainant",
            channel="sms", occurred_at=start + timedelta(seconds=4))),
    ]
    for topic, step in steps:
        send(service_env, topic, step, ids["complaint_id"])

    def shown() -> list[dict[str, Any]] | None:
        timeline = intake.get(f"/v1/complaints/{ticket}", headers=owner).json()["timeline"]
        return timeline if len(timeline) >= 7 else None

    timeline = wait_until(shown, timeout=30, what="every step on the timeline")
    assert [(e["step"], e["actor"]) for e in timeline] == [
        ("filed", {"role": "complainant", "id": "u-10086"}),
        ("statement_added", {"role": "complainant", "id": "u-10086"}),
        ("case_opened", {"role": "system", "id": "escalation"}),
        ("evidence_file_opened", {"role": "system", "id": "evidence"}),
        ("status_awaiting_evidence", {"role": "agent", "id": "agent-7"}),
        ("evidence_submitted", {"role": "system", "id": "evidence"}),
        ("notified_complainant", {"role": "system", "id": "notify"}),
    ]
    status, submitted, notified = timeline[4], timeline[5], timeline[6]
    assert status["detail"]["action"] == "request_evidence"
    assert (submitted["detail"]["label"], submitted["detail"]["kind"]) == ("证据1", "order_screenshot")
    assert (notified["detail"]["channel"], notified["detail"]["recipient_role"]) == ("sms", "complainant")


def test_a_12315_number_comes_back_whole_to_the_agent_and_in_the_event_while_the_card_stays_masked(
    intake: httpx.Client, service_env: dict[str, str], topics: TopicSettings
) -> None:
    told = "卡号 4111111111111111 被扣款后未发货，已向 12315 投诉，受理号 1234567890123"
    sent = body(**{"order.number": "KM-REM-12315", "description.what_happened": told})
    ticket, owner = file(intake, sent)["ticket"], complainant_of(sent)
    statement = "支付宝争议单号 2026112022001400001，联系电话 13812345678"
    assert intake.post(f"/v1/complaints/{ticket}/statements", json={"text": statement},
                       headers=owner).status_code == 201
    view = intake.get(f"/v1/complaints/{ticket}", headers=AGENT).json()
    assert view["description"]["what_happened"] == "卡号 ****1111 被扣款后未发货，已向 12315 投诉，受理号 1234567890123"
    assert view["statements"][0]["text"] == "支付宝争议单号 2026112022001400001，联系电话 138****5678"
    assert intake.get(f"/v1/complaints/{ticket}", headers=owner).json()["description"]["what_happened"] == told
    event = published(service_env, topics.intake_events, "ComplaintFiled", ticket=ticket)
    assert "受理号 1234567890123" in event["description"] and "4111111111111111" not in event["description"]
    # One category spelling everywhere: the shared hyphen one.
    assert view["category"] == event["category"] in {c.value for c in Category}
    listed = intake.get("/v1/complaints", params={"category": view["category"].replace("-", "_")}, headers=AGENT)
    assert listed.status_code == 200, listed.text
    assert listed.json()["items"][0]["ticket"] == ticket
    assert {item["category"] for item in listed.json()["items"]} == {view["category"]}
