"""The walking skeleton end to end: four service processes over the real broker and store."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
import pytest

from services.notify.config import NotifySettings
from shared.auth import mint_token
from shared.runtime.supervisor import ServiceProcess
from shared.settings import ServiceSettings
from shared.topics import TopicSettings
from tests.support import kafka
from tests.support.escalation_cases import token as case_token
from tests.support.metrics import present, scrape, scrape_when, total
from tests.support.samples import sample_complaint
from tests.support.waiting import wait_until

pytestmark = pytest.mark.e2e


def complaint_body() -> dict[str, Any]:
    return sample_complaint("complaint_invalid_key_zh.json")


def intake_auth() -> dict[str, str]:
    """The platform's integration (partner) files and reads: it sees the buyer's contact masked."""
    token = mint_token(secret=ServiceSettings().auth_secret, subject="kamen-1-integration", role="partner",
                       platform="kamen-1")
    return {"Authorization": f"Bearer {token}"}


def file_complaint(suite: dict[str, ServiceProcess], body: dict[str, Any]) -> dict[str, Any]:
    response = httpx.post(f"{suite['intake'].url}/v1/complaints", json=body, timeout=10, headers=intake_auth())
    assert response.status_code == 201, response.text
    return response.json()


def complaint(suite: dict[str, ServiceProcess], ticket: str) -> dict[str, Any]:
    return httpx.get(f"{suite['intake'].url}/v1/complaints/{ticket}", timeout=10, headers=intake_auth()).json()


def fully_processed(suite: dict[str, ServiceProcess], ticket: str) -> dict[str, Any] | None:
    current = complaint(suite, ticket)
    steps = {(e["service"], e["step"]) for e in current["timeline"]}
    wanted = {("intake", "filed"), ("evidence", "evidence_file_opened"),
              ("escalation", "case_opened"), ("notify", "notified_complainant")}
    return current if wanted <= steps and current["status"] == "acknowledged" else None


def notices(suite: dict[str, ServiceProcess], ticket: str) -> list[dict[str, Any]]:
    """The complainant's in-app notices about one complaint (the shared suite holds others' too;
    evidence's verdict may add its own notice to the acknowledgement)."""
    me = mint_token(secret=NotifySettings().auth_secret, subject="u-2001", role="complainant", platform="kamen-1")
    inbox = httpx.get(f"{suite['notify'].url}/v1/inbox", timeout=10, headers={"Authorization": f"Bearer {me}"})
    return [n for n in inbox.json()["items"] if n["ticket"] == ticket]


@pytest.fixture(scope="module")
def filed(suite: dict[str, ServiceProcess]) -> dict[str, Any]:
    created = file_complaint(suite, complaint_body())
    wait_until(lambda: fully_processed(suite, created["ticket"]), timeout=60,
               what="all four services to take their step")
    return created


def test_filing_answers_with_a_ticket_and_masks_the_phone(filed: dict[str, Any]) -> None:
    assert filed["ticket"].startswith("CP-")
    assert filed["status"] == "filed"
    assert filed["complainant"]["contact"]["phone"] == "138****5678"
    assert filed["order"]["item"] == "100元游戏点卡"


def test_every_service_takes_its_step_on_the_timeline(suite: dict[str, ServiceProcess],
                                                      filed: dict[str, Any]) -> None:
    current = complaint(suite, filed["ticket"])
    assert current["status"] == "acknowledged"
    assert current["tier"] == "internal"
    services = [e["service"] for e in current["timeline"]]
    assert services[0] == "intake"
    assert {"evidence", "escalation", "notify"} <= set(services)
    case = httpx.get(f"{suite['escalation'].url}/v1/cases/{filed['ticket']}", timeout=10,
                     headers=case_token(role="agent")).json()
    assert case["state"] == "acknowledged"
    [notice] = [n for n in notices(suite, filed["ticket"]) if n["event_type"] == "ComplaintFiled"]
    assert filed["ticket"] in notice["body"]


def test_one_trace_spans_all_four_processes(suite: dict[str, ServiceProcess],
                                            filed: dict[str, Any]) -> None:
    url = f"{suite['intake'].url}/v1/complaints/{filed['ticket']}/trace"

    def all_four_consumed() -> dict[str, Any] | None:
        # Each process exports its spans in batches of its own: wait until every service's
        # consumer span (the one for the event it acted on) has reached the trace.
        trace = httpx.get(url, timeout=10, headers=intake_auth()).json()
        consumers = {s["service"] for s in trace["spans"] if s["kind"] == "CONSUMER"}
        return trace if consumers == {"evidence", "escalation", "notify", "intake"} else None

    trace = wait_until(all_four_consumed, timeout=30, what="consumer spans of all four services")
    assert trace["services"] == ["escalation", "evidence", "intake", "notify"]
    assert {s["trace_id"] for s in trace["spans"]} == {filed["trace_id"]}
    assert "13812345678" not in json.dumps(trace)


def test_a_message_delivered_twice_adds_nothing(suite: dict[str, ServiceProcess],
                                                filed: dict[str, Any], suite_topics: TopicSettings,
                                                suite_env: dict[str, str]) -> None:
    topics, bootstrap = suite_topics, suite_env["KAFKA_BOOTSTRAP_SERVERS"]
    before = complaint(suite, filed["ticket"])
    ticket = filed["ticket"].encode()

    async def redeliver() -> None:
        for topic, type_name, groups in (
            (topics.intake_events, b"ComplaintFiled", ("evidence", "escalation", "notify")),
            (topics.escalation_events, b"CaseOpened", ("intake",)),
            (topics.notify_events, b"NotificationSent", ("intake",)),
        ):
            record = await kafka.read_until(
                bootstrap=bootstrap, topic=topic,
                match=lambda r, t=type_name: ticket in r.value and t in r.value)
            partition, offset = await kafka.resend(bootstrap=bootstrap, record=record)
            for group in groups:
                await kafka.committed_past(bootstrap=bootstrap, group=suite_env[f"{group.upper()}_CONSUMER_GROUP"],
                                           topic=topic, partition=partition, offset=offset)

    asyncio.run(redeliver())
    after = complaint(suite, filed["ticket"])
    assert after["timeline"] == before["timeline"]
    kinds = [n["event_type"] for n in notices(suite, filed["ticket"])]
    assert kinds.count("ComplaintFiled") == 1, kinds


def test_every_service_reports_its_lag_outbox_and_http_figures_at_metrics(
        suite: dict[str, ServiceProcess], filed: dict[str, Any], suite_topics: TopicSettings) -> None:
    topics = suite_topics
    consumed = {"intake": [topics.evidence_events, topics.escalation_events, topics.notify_events],
                **{name: [topics.intake_events] for name in ("evidence", "escalation", "notify")}}
    def drained(samples: dict) -> bool:
        return total(samples, "complaints_consumer_lag") == 0 == total(samples, "complaints_outbox_backlog",
                                                                       state="pending")

    for name, topics_read in consumed.items():
        samples = wait_until(lambda n=name: scrape_when(httpx, drained, suite[n].url), timeout=30,
                             what=f"{name}'s lag and outbox backlog at 0 once the filing is handled")
        for topic in topics_read:
            assert present(samples, "complaints_consumer_lag", topic=topic), (name, topic)
            processed = total(samples, "complaints_consumer_records_processed_total", topic=topic)
            assert processed >= 1 or name == "intake", (name, topic)
        assert total(samples, "complaints_outbox_published_total") >= 1, name
        assert present(samples, "complaints_outbox_oldest_pending_age_seconds"), name
    intake = scrape(httpx, suite["intake"].url)
    assert total(intake, "http_server_duration_milliseconds_count", http_target="/v1/complaints",
                 http_method="POST", http_status_code="201") >= 1
    assert sum(total(scrape(httpx, suite["intake"].url), "complaints_consumer_records_processed_total", topic=t)
               for t in consumed["intake"]) >= 3, "intake folds the other services' steps"
