"""A tolerant reader on the real broker (issue 24): v1 events that carry fields added by a newer
producer are applied by every service (evidence opens the file; escalation opens the case and
withdraws it; notify puts the notice in the inbox; intake moves the status); one that breaks the
contract is still dead-lettered with its reason."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from shared.envelope import new_id
from shared.topics import TopicSettings
from tests.support import kafka
from tests.support.evidence_harness import file_complaint, running_evidence, settings_of, token
from tests.support.servers import Servers
from tests.support.waiting import wait_until

pytestmark = pytest.mark.integration


@pytest.fixture
def evidence(servers: Servers, namespace: str, service_env: dict[str, str]) -> Iterator[TestClient]:
    # Per test, not per module: the services this module runs in its process share the process's
    # store connection, and one starting while another runs can leave the other's cached database
    # on a client it closed (every transaction then fails: seen once in CI, escalation's test).
    with running_evidence(servers=servers, namespace=namespace, service_env=service_env) as client:
        yield client


def send(client: TestClient, data: dict) -> None:
    settings = settings_of(client)
    asyncio.run(kafka.send(bootstrap=settings.kafka_bootstrap_servers, topic=settings.topics.intake_events,
                           value=json.dumps(data).encode(), key=data["complaint_id"].encode()))


def newer(client: TestClient) -> dict:
    """A ComplaintFiled as a newer intake would send it: v1, with fields this evidence does not know."""
    data = json.loads(file_complaint(client).encode())  # a template the service takes
    data.update(complaint_id=new_id(), ticket=f"CP-20261124-{new_id()[:6]}", event_id=new_id(),
                channel_hint="mini-program", risk={"score": 3})
    data["order"]["coupon_code"] = "NEW-2026"
    return data


def test_a_v1_event_with_new_fields_is_applied(evidence: TestClient) -> None:
    data = newer(evidence)
    send(evidence, data)
    wait_until(lambda: evidence.get(f"/v1/complaints/{data['ticket']}/evidence-file",
                                    headers=token(evidence)).status_code == 200,
               timeout=30, what="evidence to open the file of the event with new fields")


@pytest.mark.parametrize(("change", "reason"), [
    ({"category": 42}, "schema violation in ComplaintFiled: category"),
    ({"schema_version": 2}, "unsupported schema_version 2"),
])
def test_an_invalid_event_is_still_dead_lettered_beside_new_fields(evidence: TestClient, change: dict,
                                                                   reason: str) -> None:
    data = {**newer(evidence), **change}
    send(evidence, data)
    settings = settings_of(evidence)
    record = asyncio.run(kafka.read_until(
        bootstrap=settings.kafka_bootstrap_servers, topic=settings.topics.dead_letter(settings.topics.intake_events),
        match=lambda r: json.loads(r.value).get("event_id") == data["event_id"]))
    headers = {k: v.decode() for k, v in record.headers}
    assert reason in headers["dlq-reason"], headers
    assert evidence.get(f"/v1/complaints/{data['ticket']}/evidence-file",
                        headers=token(evidence)).status_code == 404


def test_escalation_applies_filed_and_withdrawn_events_with_new_fields(service_env: dict[str, str]) -> None:
    from shared.contracts.complaints import ComplaintWithdrawn
    from tests.support.escalation_cases import escalation_client, filed, wait_case
    from tests.support.escalation_cases import token as escalation_token

    topic = TopicSettings(prefix=service_env["COMPLAINTS_TOPIC_PREFIX"]).intake_events
    event = filed(category="invalid-card-key")
    withdrawn = ComplaintWithdrawn(complaint_id=event.complaint_id, ticket=event.ticket, reason="已解决")
    agent = escalation_token(role="agent")
    with escalation_client(env=service_env) as client:
        for message in (event, withdrawn):
            data = {**json.loads(message.encode()), "source_app": "mini-program", "trace_note": {"v": 2}}
            asyncio.run(kafka.send(bootstrap=service_env["KAFKA_BOOTSTRAP_SERVERS"], topic=topic,
                                   value=json.dumps(data).encode(), key=message.key().encode()))
        wait_case(client, event.ticket, headers=agent, state="withdrawn")


def test_notify_applies_a_filed_event_with_new_fields(servers: Servers, namespace: str,
                                                      service_env: dict[str, str]) -> None:
    from tests.support.notify_harness import complaint_filed, notify_settings, running_notify
    from tests.support.notify_harness import token as notify_token
    from tests.support.suite import create_topics

    create_topics(env=service_env)
    settings = notify_settings(servers=servers, namespace=namespace)
    event = complaint_filed(complainant="u-evolve")
    data = json.loads(event.encode())
    data.update(source_app="mini-program")
    data["complainant"]["preferred_hours"] = "09-18"
    me = notify_token(settings, subject="u-evolve", role="complainant")
    with running_notify(settings) as client:
        asyncio.run(kafka.send(bootstrap=settings.kafka_bootstrap_servers, topic=settings.topics.intake_events,
                               value=json.dumps(data).encode(), key=event.key().encode()))
        items = wait_until(lambda: client.get("/v1/inbox", headers=me).json()["items"], timeout=30,
                           what="notify's notice of the filing with new fields")
    assert [i["ticket"] for i in items] == [event.ticket]


def test_intake_applies_a_status_change_with_new_fields(service_env: dict[str, str],
                                                        tmp_path_factory: pytest.TempPathFactory) -> None:
    from pymongo import MongoClient

    from shared.contracts.escalation import ComplaintStatusChanged
    from tests.support.intake_calls import body, complainant_of, running_intake
    from tests.support.suite import create_topics

    topics = create_topics(env=service_env)
    sent = body(**{"order.number": "KM-EVOLVE-1"})
    headers = complainant_of(sent)
    with running_intake(env=service_env, log_dir=tmp_path_factory.mktemp("logs")) as intake:
        response = intake.post("/v1/complaints", json=sent, headers=headers)
        assert response.status_code == 201, response.text
        ticket = response.json()["ticket"]
        with MongoClient(service_env["MONGODB_URI"]) as mongo:
            complaint_id = mongo[service_env["INTAKE_MONGODB_DB"]]["complaints"].find_one({"ticket": ticket})["_id"]
        event = ComplaintStatusChanged(complaint_id=complaint_id, ticket=ticket, from_state="acknowledged",
                                       to_state="in_review", tier="internal")
        data = {**json.loads(event.encode()), "reason_code": "R-17", "actor": {"kind": "rule"}}
        asyncio.run(kafka.send(bootstrap=service_env["KAFKA_BOOTSTRAP_SERVERS"], topic=topics.escalation_events,
                               value=json.dumps(data).encode(), key=complaint_id.encode()))
        wait_until(lambda: intake.get(f"/v1/complaints/{ticket}", headers=headers).json()["status"] == "in_review",
                   timeout=30, what="intake to apply the status change with new fields")
