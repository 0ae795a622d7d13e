"""The automatic tier's window: with no confirmation from the channel in time, internal handling takes over."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from fastapi.testclient import TestClient

from services.escalation.domain.policy import DEFAULT_POLICY
from shared.topics import TopicSettings
from tests.support.escalation_cases import escalation_client, filed, of, read_all, send, token, wait_case
from tests.support.suite import create_topics
from tests.support.waiting import wait_until

pytestmark = pytest.mark.integration

AGENT = token(role="agent")


@pytest.fixture(scope="module")
def topics(service_env: dict[str, str]) -> TopicSettings:
    return create_topics(env=service_env)


@pytest.fixture(scope="module")
def client(service_env: dict[str, str], topics: TopicSettings,
           tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    # The shipped policy with the automatic window shortened to about four seconds.
    policy = yaml.safe_load(DEFAULT_POLICY.read_text(encoding="utf-8"))
    policy["clocks"]["automatic_window"]["duration"] = 0.0012
    path: Path = tmp_path_factory.mktemp("policy") / "policy_fast_automatic.yaml"
    path.write_text(yaml.safe_dump(policy, allow_unicode=True), encoding="utf-8")
    with escalation_client(env=service_env, policy=path) as running:
        yield running


def test_with_no_confirmation_in_the_window_the_case_goes_on_to_internal_handling(
        client: TestClient, service_env: dict[str, str], topics: TopicSettings) -> None:
    event = filed(category="charged-no-order", amount_minor=10000)
    send(bootstrap=service_env["KAFKA_BOOTSTRAP_SERVERS"], topic=topics.intake_events, events=[event])
    opened = wait_case(client, event.ticket, headers=AGENT)
    assert opened["tier"] == "automatic"

    def handed_on() -> dict | None:
        view = client.get(f"/v1/cases/{event.ticket}", headers=AGENT).json()
        return view if view["tier"] == "internal" else None
    case = wait_until(handed_on, timeout=30, interval=0.3, what="the case handed to internal handling")
    assert case["state"] == "acknowledged" and case["offer"] is None
    assert "automatic_window" in case["breached_clocks"]

    def announced() -> list[dict] | None:
        messages = of(read_all(bootstrap=service_env["KAFKA_BOOTSTRAP_SERVERS"], topic=topics.escalation_events),
                      complaint_id=event.complaint_id)
        return messages if any(m["type"] == "ComplaintEscalated" for m in messages) else None
    messages = wait_until(announced, timeout=30, interval=0.3, what="ComplaintEscalated on the topic")
    escalated = next(m for m in messages if m["type"] == "ComplaintEscalated")
    assert (escalated["from_tier"], escalated["to_tier"]) == ("automatic", "internal")
    assert not [m for m in messages if m["type"] == "ResolutionProposed"]
