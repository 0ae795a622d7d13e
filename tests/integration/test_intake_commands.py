"""Filing by Kafka: FileComplaint in, ComplaintAccepted or ComplaintRejected out, repeats answered alike."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from shared.contracts.complaints import FileComplaint
from shared.topics import TopicSettings
from tests.support import kafka
from tests.support.intake_calls import body, running_intake, token, topic_messages
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
        mine = [m for m in topic_messages(bootstrap=service_env["KAFKA_BOOTSTRAP_SERVERS"], topic=topics.intake_replies)
                if m["platform_reference"] == reference]
        return mine if len(mine) >= count else None

    return wait_until(found, timeout=30, what=f"{count} replies to {reference}")


def test_a_good_command_is_filed_and_accepted_with_its_ticket(
    intake: httpx.Client, service_env: dict[str, str], topics: TopicSettings
) -> None:
    send(service_env, topics, "ref-ok-1", body(**{"order.number": "KM-CMD-1", "category": ...}))
    (accepted,) = replies(service_env, topics, "ref-ok-1")
    assert accepted["type"] == "ComplaintAccepted" and accepted["already_existed"] is False
    assert accepted["_key"] == "ref-ok-1"
    filed = intake.get(f"/v1/complaints/{accepted['ticket']}", headers=PARTNER).json()
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
    assert first["type"] == second["type"] == "ComplaintAccepted"
    assert first["ticket"] == second["ticket"]
    assert first["already_existed"] == second["already_existed"] is False
    items = intake.get("/v1/complaints", headers=PARTNER).json()["items"]
    assert [c["order"]["number"] for c in items].count("KM-CMD-2") == 1


def test_a_bad_command_is_rejected_with_field_errors(service_env: dict[str, str], topics: TopicSettings,
                                                     intake: httpx.Client) -> None:
    send(service_env, topics, "ref-bad-1", body(**{"order.number": "KM-CMD-3", "order.amount": -1,
                                                   "order.currency": "RMB"}))
    (rejected,) = replies(service_env, topics, "ref-bad-1")
    assert rejected["type"] == "ComplaintRejected"
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
    assert first["type"] == "ComplaintAccepted"
    assert second["type"] == "ComplaintRejected"
    assert second["errors"][0]["rule"] == "reference_reused"
