"""Rules proven as pure functions, seen through the running escalation service: the reopen window its
policy file sets (1 day here, so the shipped 15 cannot pass for it), and the dead-letter topic taking a
complaint the service rejects and one whose handler keeps failing, while the next complaint is applied."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pymongo import MongoClient

from services.escalation.service import opening
from shared.topics import TopicSettings
from tests.support import kafka
from tests.support.escalation_cases import FAST_POLICY, escalation_client, filed, send, token, wait_case
from tests.support.suite import create_topics

pytestmark = pytest.mark.integration

AGENT = token(role="agent")
BUYER = token(role="complainant", subject="u-2001")
FAILING: set[str] = set()  # complaint ids whose opening raises, as a bug in the handler would


@pytest.fixture(scope="module")
def topics(service_env: dict[str, str]) -> TopicSettings:
    return create_topics(env=service_env)


@pytest.fixture(scope="module")
def client(service_env: dict[str, str], topics: TopicSettings,
           tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    text = FAST_POLICY.read_text("utf-8")
    assert "reopen_window_days: 15" in text
    policy = tmp_path_factory.mktemp("policy") / "policy_reopen_1d.yaml"
    policy.write_text(text.replace("reopen_window_days: 15", "reopen_window_days: 1"), "utf-8")
    real_open = opening.open_case

    def open_case(uow: Any, *, event: Any, **kw: Any) -> Any:
        if event.complaint_id in FAILING:
            raise RuntimeError(f"opening {event.ticket} failed on purpose")
        return real_open(uow, event=event, **kw)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(opening, "open_case", open_case)
        with escalation_client(env=service_env, policy=Path(policy)) as running:
            yield running


def open_case(client: TestClient, env: dict[str, str], topics: TopicSettings, **kw: Any) -> dict[str, Any]:
    event = filed(**kw)
    send(bootstrap=env["KAFKA_BOOTSTRAP_SERVERS"], topic=topics.intake_events, events=[event])
    return wait_case(client, event.ticket, headers=AGENT)


def act(client: TestClient, ticket: str, action: str, headers: dict[str, str], **body: Any) -> Any:
    return client.post(f"/v1/cases/{ticket}/actions/{action}", json=body, headers=headers)


def resolved_ago(client: TestClient, env: dict[str, str], topics: TopicSettings, ago: timedelta) -> str:
    """A case resolved by the buyer's acceptance, its resolution moved `ago` into the past; its ticket."""
    case = open_case(client, env, topics, category="wrong-delivery")
    ticket = case["ticket"]
    assert act(client, ticket, "propose_resolution", AGENT, reason="reissue the right card",
               resolution={"outcome": "reissue", "keys": 1}).status_code == 200
    assert act(client, ticket, "accept_resolution", BUYER).json()["state"] == "resolved"
    with MongoClient(env["MONGODB_URI"], tz_aware=True) as mongo:
        cases = mongo[env["ESCALATION_MONGODB_DB"]]["cases"]
        stored = cases.find_one({"_id": case["complaint_id"]})["status"]["resolved_at"]
        earlier = (datetime.fromisoformat(stored) if isinstance(stored, str) else stored) - ago
        cases.update_one({"_id": case["complaint_id"]}, {"$set": {
            "status.resolved_at": earlier.isoformat() if isinstance(stored, str) else earlier}})
    return ticket


def test_the_policy_files_one_day_reopen_window_is_the_one_applied(
        client: TestClient, service_env: dict[str, str], topics: TopicSettings) -> None:
    recent = resolved_ago(client, service_env, topics, timedelta(hours=20))
    stale = resolved_ago(client, service_env, topics, timedelta(days=2))  # inside the shipped 15 days

    assert "in_review" not in client.get(f"/v1/cases/{stale}", headers=AGENT).json()["allowed_next_states"]
    refused = act(client, stale, "reopen", BUYER, reason="the new key fails too")
    assert refused.status_code == 409 and "reopen window has ended" in refused.text
    assert act(client, recent, "reopen", BUYER, reason="the new key fails too").json()["state"] == "in_review"


def parked(env: dict[str, str], topics: TopicSettings, complaint_id: str) -> Any:
    """The dead letter of a complaint's record on intake's events topic."""
    return asyncio.run(kafka.read_until(
        bootstrap=env["KAFKA_BOOTSTRAP_SERVERS"], topic=topics.intake_events + topics.dead_letter_suffix,
        match=lambda r: r.key == complaint_id.encode(), timeout=60))


def test_a_complaint_the_service_rejects_is_parked_with_its_reason_and_the_next_is_applied(
        client: TestClient, service_env: dict[str, str], topics: TopicSettings) -> None:
    unknown = filed(category="no-such-category")
    good = filed(category="wrong-delivery")
    send(bootstrap=service_env["KAFKA_BOOTSTRAP_SERVERS"], topic=topics.intake_events, events=[unknown, good])

    letter = parked(service_env, topics, unknown.complaint_id)
    headers = {k: v.decode() for k, v in letter.headers}
    assert headers["dlq-reason"].startswith("rejected: category: unknown complaint category 'no-such-category'")
    assert headers["dlq-original-topic"] == topics.intake_events and letter.value == unknown.encode()
    assert wait_case(client, good.ticket, headers=AGENT)["state"]
    assert client.get(f"/v1/cases/{unknown.ticket}", headers=AGENT).status_code == 404


def test_a_handler_that_keeps_failing_parks_the_message_and_the_next_is_applied(
        client: TestClient, service_env: dict[str, str], topics: TopicSettings) -> None:
    broken, good = filed(category="wrong-delivery"), filed(category="wrong-delivery")
    FAILING.add(broken.complaint_id)
    send(bootstrap=service_env["KAFKA_BOOTSTRAP_SERVERS"], topic=topics.intake_events, events=[broken, good])

    letter = parked(service_env, topics, broken.complaint_id)
    reason = dict(letter.headers)["dlq-reason"].decode()
    assert reason.startswith("handler error: ") and "failed 3 times" in reason
    assert f"RuntimeError: opening {broken.ticket} failed on purpose" in reason
    assert letter.value == broken.encode()
    assert wait_case(client, good.ticket, headers=AGENT)["state"]
    assert client.get(f"/v1/cases/{broken.ticket}", headers=AGENT).status_code == 404
