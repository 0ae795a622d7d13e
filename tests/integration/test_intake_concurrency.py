"""Twenty identical POSTs at once: one complaint and one ComplaintFiled, with or without a key."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest

from shared.topics import TopicSettings
from tests.support.intake_calls import body, complainant_of, running_intake, token, topic_messages
from tests.support.suite import create_topics
from tests.support.waiting import wait_until

pytestmark = pytest.mark.integration

COPIES = 20


@pytest.fixture(scope="module")
def topics(service_env: dict[str, str]) -> TopicSettings:
    return create_topics(env=service_env)


@pytest.fixture(scope="module")
def intake(service_env: dict[str, str], topics: TopicSettings,
           tmp_path_factory: pytest.TempPathFactory) -> Iterator[httpx.Client]:
    with running_intake(env=service_env, log_dir=tmp_path_factory.mktemp("logs")) as client:
        yield client


def all_at_once(intake: httpx.Client, complaint: dict[str, Any], headers: dict[str, str]) -> list[httpx.Response]:
    start = threading.Barrier(COPIES)

    def post(_: int) -> httpx.Response:
        start.wait()
        return intake.post("/v1/complaints", json=complaint, headers=headers)

    with ThreadPoolExecutor(max_workers=COPIES) as pool:
        return list(pool.map(post, range(COPIES)))


def filed_events(service_env: dict[str, str], topics: TopicSettings, intake: httpx.Client,
                 order_number: str) -> list[dict[str, Any]]:
    """ComplaintFiled events for an order, read once a later marker complaint has been published."""
    marker = body(**{"order.number": f"{order_number}-MARKER"})
    ticket = intake.post("/v1/complaints", json=marker, headers=complainant_of(marker)).json()["ticket"]

    def published() -> list[dict[str, Any]] | None:
        messages = topic_messages(bootstrap=service_env["KAFKA_BOOTSTRAP_SERVERS"], topic=topics.intake_events)
        if not any(m.get("ticket") == ticket for m in messages):
            return None
        return [m for m in messages if m["type"] == "ComplaintFiled"
                and m["order"]["order_number"] == order_number]

    return wait_until(published, timeout=30, what="the marker complaint to be published")


def open_complaints_for(intake: httpx.Client, order_number: str) -> list[dict[str, Any]]:
    agent = token("agent-1", "agent", platform="kameng-example")
    items = intake.get("/v1/complaints", params={"limit": 100}, headers=agent).json()["items"]
    return [c for c in items if c["order"]["number"] == order_number]


def test_twenty_identical_posts_file_one_complaint(intake: httpx.Client, service_env: dict[str, str],
                                                   topics: TopicSettings) -> None:
    complaint = body(**{"order.number": "KM-RACE-PLAIN"})
    answers = all_at_once(intake, complaint, complainant_of(complaint))
    assert sorted(a.status_code for a in answers) == [200] * (COPIES - 1) + [201], [
        a.text[:300] for a in answers if a.status_code != 200]
    assert len({a.json()["ticket"] for a in answers}) == 1
    existed = [a for a in answers if a.status_code == 200]
    assert all(a.json()["already_existed"] and a.headers["Complaint-Already-Existed"] == "true" for a in existed)
    assert len(open_complaints_for(intake, "KM-RACE-PLAIN")) == 1
    assert len(filed_events(service_env, topics, intake, "KM-RACE-PLAIN")) == 1


def test_twenty_posts_with_one_idempotency_key_get_the_first_answer(
    intake: httpx.Client, service_env: dict[str, str], topics: TopicSettings
) -> None:
    complaint = body(**{"order.number": "KM-RACE-KEY"})
    headers = complainant_of(complaint) | {"Idempotency-Key": "retry-7f3a"}
    answers = all_at_once(intake, complaint, headers)
    assert {a.status_code for a in answers} == {201}
    assert len({a.text for a in answers}) == 1  # byte-for-byte the first answer
    assert sum(a.headers.get("Idempotent-Replayed") == "true" for a in answers) == COPIES - 1
    assert len(open_complaints_for(intake, "KM-RACE-KEY")) == 1
    assert len(filed_events(service_env, topics, intake, "KM-RACE-KEY")) == 1


def test_the_same_key_with_another_body_is_refused(intake: httpx.Client) -> None:
    first = body(**{"order.number": "KM-KEY-A"})
    headers = complainant_of(first) | {"Idempotency-Key": "key-reused"}
    assert intake.post("/v1/complaints", json=first, headers=headers).status_code == 201
    other = intake.post("/v1/complaints", json=body(**{"order.number": "KM-KEY-B"}), headers=headers)
    assert other.status_code == 422
    assert other.json()["errors"][0]["field"] == "Idempotency-Key"
    assert other.json()["errors"][0]["rule"] == "idempotency_key_reused"
    assert open_complaints_for(intake, "KM-KEY-B") == []


def test_after_a_withdrawal_the_same_order_can_be_filed_again(intake: httpx.Client) -> None:
    complaint = body(**{"order.number": "KM-REFILE-1"})
    first = intake.post("/v1/complaints", json=complaint, headers=complainant_of(complaint)).json()
    withdrawn = intake.post(f"/v1/complaints/{first['ticket']}/withdraw", json={"reason": "误报"},
                            headers=complainant_of(complaint))
    assert withdrawn.status_code == 200
    again = intake.post("/v1/complaints", json=complaint, headers=complainant_of(complaint))
    assert again.status_code == 201 and again.json()["ticket"] != first["ticket"]


def at_once(count: int, call: Any) -> list[httpx.Response]:
    start = threading.Barrier(count)

    def one(_: int) -> httpx.Response:
        start.wait()
        return call()

    with ThreadPoolExecutor(max_workers=count) as pool:
        return list(pool.map(one, range(count)))


def test_statements_sent_together_get_distinct_numbers_and_a_keyed_retry_adds_nothing(
    intake: httpx.Client,
) -> None:
    complaint = body(**{"order.number": "KM-STATEMENTS-1"})
    owner = complainant_of(complaint)
    ticket = intake.post("/v1/complaints", json=complaint, headers=owner).json()["ticket"]
    url = f"/v1/complaints/{ticket}/statements"
    distinct = at_once(5, lambda: intake.post(url, json={"text": "又联系了客服，仍无结果"}, headers=owner))
    assert sorted(r.json()["statement"] for r in distinct) == [1, 2, 3, 4, 5]
    keyed = owner | {"Idempotency-Key": "statement-retry-1"}
    retries = at_once(10, lambda: intake.post(url, json={"text": "商家承诺明天补发 ✅"}, headers=keyed))
    assert {(r.status_code, r.json()["statement"]) for r in retries} == {(201, 6)}
    statements = intake.get(f"/v1/complaints/{ticket}", headers=owner).json()["statements"]
    assert [s["number"] for s in statements] == [1, 2, 3, 4, 5, 6]
    assert statements[-1]["text"] == "商家承诺明天补发 ✅"
