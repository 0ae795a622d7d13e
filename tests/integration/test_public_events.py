"""Issue 23, one public event vocabulary, tried with a partner's own tools: every record of the
public status topic and every webhook body is a CloudEvent the CloudEvents SDK parses, its data
valid against the JSON Schema fetched over HTTP from its `dataschema` URL, every delivery verified
by a Standard Webhooks verifier (standardwebhooks, and svix when it is installed); the filing is the
first status record, a change that changes nothing is not published, only CloudEvents headers are on
the topic; intake's views carry the complaint id that keys the records."""

from __future__ import annotations

import asyncio
import json
import threading
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
import uvicorn
from aiokafka import AIOKafkaConsumer
from cloudevents.v1.http import from_json
from cloudevents.v1.kafka import KafkaMessage, from_structured
from fastapi.testclient import TestClient
from jsonschema import Draft202012Validator
from standardwebhooks import Webhook

from services.notify.config import NotifySettings
from shared.contracts import public
from shared.contracts.escalation import (
    CaseAssigned,
    ComplaintEscalated,
    ComplaintStatusChanged,
    ResolutionProposed,
    SlaWarning,
)
from shared.contracts.evidence import EvidenceAssessed
from shared.runtime.embedded import free_port
from tests.support import kafka
from tests.support.intake_calls import body, complainant_of, running_intake, token, topic_messages
from tests.support.notify_harness import complaint_filed, notify_settings, publish, running_notify
from tests.support.notify_harness import token as notify_token
from tests.support.servers import Servers
from tests.support.suite import create_topics
from tests.support.waiting import wait_until
from tests.support.webhook_receiver import WebhookReceiver

try:  # an independent Standard Webhooks implementation, when installed (pip install svix)
    from svix.webhooks import Webhook as SvixWebhook
except ImportError:  # pragma: no cover - standardwebhooks still verifies every delivery
    SvixWebhook = None

pytestmark = pytest.mark.integration
PLATFORM = "p-public"
PHONE, EMAIL = "13812345678", "buyer-public@example.com"
STATUS, FILED, CLOSED = public.STATUS_CHANGED, public.COMPLAINT_FILED, public.COMPLAINT_CLOSED


@pytest.fixture(scope="module")
def base_url() -> Iterator[str]:
    """The public base URL: where this module's notify serves the schemas over real HTTP."""
    url = f"http://127.0.0.1:{free_port()}"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(public.BASE_URL_SETTING, url)
        yield url


@pytest.fixture(scope="module")
def settings(servers: Servers, namespace: str, service_env: dict[str, str], base_url: str) -> NotifySettings:
    create_topics(env=service_env)
    return notify_settings(servers=servers, namespace=namespace)


@pytest.fixture(scope="module")
def app(settings: NotifySettings, base_url: str) -> Iterator[TestClient]:
    with running_notify(settings) as client:
        # The same app on a real port, so the dataschema URLs resolve as a partner's would.
        server = uvicorn.Server(uvicorn.Config(client.app, host="127.0.0.1", port=int(base_url.rsplit(":", 1)[1]),
                                               lifespan="off", log_level="warning"))
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        wait_until(lambda: server.started, timeout=20, what="the schema server")
        try:
            yield client
        finally:
            server.should_exit = True
            thread.join(timeout=10)


class Schemas:
    """Validators for the schemas fetched over HTTP from the events' dataschema URLs, once each."""

    def __init__(self) -> None:
        self.fetched: dict[str, Draft202012Validator] = {}

    def validate(self, event: Any) -> None:
        url = event["dataschema"]
        if url not in self.fetched:
            answer = httpx.get(url, timeout=10)
            assert answer.status_code == 200, (url, answer.text)
            schema = answer.json()
            Draft202012Validator.check_schema(schema)
            assert schema["$id"] == url
            self.fetched[url] = Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)
        self.fetched[url].validate(event.get_data())


def subscribe(app: TestClient, settings: NotifySettings, url: str, event_types: list[str]) -> dict[str, Any]:
    answer = app.post("/v1/subscriptions", json={"url": url, "event_types": event_types},
                      headers=notify_token(settings, subject=f"{PLATFORM}-integration", role="partner",
                                           platform=PLATFORM))
    assert answer.status_code == 201, answer.text
    return answer.json()


def verified(request: Any, secret: str) -> Any:
    """The delivery verified by every Standard Webhooks verifier at hand, parsed by the CloudEvents SDK."""
    Webhook(secret).verify(request.body, request.headers)
    if SvixWebhook is not None:
        SvixWebhook(secret).verify(request.body, request.headers)
    return from_json(request.body)


async def read_status(*, bootstrap: str, topic: str, key: bytes, count: int, timeout: float) -> list[Any]:
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


def test_every_record_and_webhook_is_a_cloudevent_valid_against_its_served_schema(
        app: TestClient, settings: NotifySettings) -> None:
    everything, new_names, old_names = WebhookReceiver().start(), WebhookReceiver().start(), WebhookReceiver().start()
    try:
        subs = {"all": subscribe(app, settings, everything.url, []),
                # The public name and the internal one (kept as an alias) pick the same events.
                "new": subscribe(app, settings, new_names.url, [STATUS]),
                "old": subscribe(app, settings, old_names.url, ["ComplaintStatusChanged"])}
        filed = complaint_filed(platform=PLATFORM, phone=PHONE, email=EMAIL)
        ids = {"complaint_id": filed.complaint_id, "ticket": filed.ticket}
        now = datetime.now(UTC)
        escalation = [
            ComplaintStatusChanged(**ids, from_state="filed", to_state="acknowledged", tier="internal",
                                   reason="case_opened", action="open"),
            CaseAssigned(**ids, agent_id="agent-7"),
            # What `assign` publishes: no change of state, so no status record and no status webhook.
            ComplaintStatusChanged(**ids, from_state="acknowledged", to_state="acknowledged", tier="internal",
                                   action="assign"),
            ComplaintStatusChanged(**ids, from_state="acknowledged", to_state="awaiting_evidence", tier="internal",
                                   reason=f"买家 {PHONE} 说卡密无效，请补充截图", action="request_evidence"),
            # The buyer's own window is not the platform's clock: no partner event.
            SlaWarning(**ids, clock="buyer_evidence", due_at=now + timedelta(days=2), owner="complainant"),
            SlaWarning(**ids, clock="first_response", due_at=now + timedelta(hours=2), owner="platform"),
            ResolutionProposed(**ids, outcome="refund", refund={"amount_minor": 10000, "currency": "CNY"}),
            ComplaintEscalated(**ids, from_tier="internal", to_tier="platform", reason="merchant_silent"),
            ComplaintStatusChanged(**ids, from_state="resolved", to_state="closed", tier="platform",
                                   reason="resolution_accepted"),
        ]
        sent = {settings.topics.intake_events: publish(settings, topic=settings.topics.intake_events, events=[filed])}
        sent[settings.topics.evidence_events] = publish(
            settings, topic=settings.topics.evidence_events,
            events=[EvidenceAssessed(**ids, completeness_score=40, missing=["screenshot"])])
        sent[settings.topics.escalation_events] = publish(settings, topic=settings.topics.escalation_events,
                                                          events=escalation)

        schemas = Schemas()
        records = asyncio.run(read_status(bootstrap=settings.kafka_bootstrap_servers,
                                          topic=settings.topics.public_status, key=filed.complaint_id.encode(),
                                          count=5, timeout=30))
        assert len(records) == 4, [json.loads(r.value)["data"] for r in records]
        events = []
        for record in records:
            headers = {name: value for name, value in record.headers}
            # Only CloudEvents headers: no traceparent, correlation id or message type.
            assert set(headers) == {"content-type"} or all(h.startswith("ce_") or h == "content-type" for h in headers)
            assert headers["content-type"].startswith(b"application/cloudevents+json")
            event = from_structured(KafkaMessage(headers=headers, key=record.key, value=record.value))
            assert event["specversion"] == "1.0" and event["subject"] == filed.complaint_id
            schemas.validate(event)
            events.append(event)
        data = [e.get_data() for e in events]
        assert [(d["from_state"], d["to_state"]) for d in data] == [
            (None, "filed"), ("filed", "acknowledged"), ("acknowledged", "awaiting_evidence"), ("resolved", "closed")]
        assert {e["type"] for e in events} == {STATUS}
        assert data[2]["reason_code"] == "request_evidence"  # typed text is dropped, the action's code stays
        assert all(e["dataschema"].startswith(f"{public.base_url()}/schemas/") for e in events)
        raw = b"".join(r.value for r in records)
        assert PHONE.encode() not in raw and EMAIL.encode() not in raw and "小王".encode() not in raw

        told = {"all": (everything, 9), "new": (new_names, 3), "old": (old_names, 3)}
        got: dict[str, list[Any]] = {}
        for name, (receiver, count) in told.items():
            requests = receiver.wait_for(count=count, timeout=30)
            got[name] = []
            for request in requests:
                event = verified(request, subs[name]["secret"])
                schemas.validate(event)
                summary = event.get_data()["summary"]
                assert summary["zh-CN"] and summary["en"] and summary["zh-CN"] != summary["en"]
                assert PHONE.encode() not in request.body and EMAIL.encode() not in request.body
                got[name].append(event)
        assert Counter(e["type"] for e in got["all"]) == Counter({
            FILED: 1, STATUS: 2, public.CASE_ASSIGNED: 1, public.EVIDENCE_REQUESTED: 1, public.SLA_WARNING: 1,
            public.RESOLUTION_PROPOSED: 1, public.COMPLAINT_ESCALATED: 1, CLOSED: 1}), [e["type"] for e in got["all"]]
        for name in ("new", "old"):
            assert Counter(e["type"] for e in got[name]) == Counter({STATUS: 2, CLOSED: 1})
        by_type = {e["type"]: e.get_data() for e in got["all"]}
        assert by_type[public.SLA_WARNING]["owner"] == "platform"
        assert by_type[public.EVIDENCE_REQUESTED]["missing"] == ["screenshot"]
        assert by_type[public.RESOLUTION_PROPOSED]["refund"] == {"amount_minor": 10000, "currency": "CNY"}
        assert by_type[FILED]["amount"] == {"amount_minor": 10000, "currency": "CNY"}
        assert "agent-7" not in json.dumps(by_type[public.CASE_ASSIGNED])
        # The same status change has the same CloudEvents id on the topic and in the webhook.
        assert {e["id"] for e in got["all"] if e["type"] == STATUS} == {e["id"] for e in events[1:3]}
        # Once notify has handled every event, nothing more is owed: the no-change and the buyer's own
        # clock were told to no partner.
        for topic, offsets in sent.items():
            partition, offset = offsets[-1]
            asyncio.run(kafka.committed_past(bootstrap=settings.kafka_bootstrap_servers, group=settings.consumer_group,
                                             topic=topic, partition=partition, offset=offset))
        headers = notify_token(settings, subject=f"{PLATFORM}-integration", role="partner", platform=PLATFORM)
        logged = app.get(f"/v1/subscriptions/{subs['all']['id']}/deliveries", headers=headers).json()["items"]
        assert len(logged) == 9 and len(everything.requests) == 9 and len(new_names.requests) == 3
    finally:
        for receiver in (everything, new_names, old_names):
            receiver.stop()


def test_the_schemas_are_listed_and_an_unknown_type_is_refused(app: TestClient, base_url: str) -> None:
    listed = httpx.get(f"{base_url}/schemas", timeout=10).json()["items"]
    assert {item["type"] for item in listed} == set(public.PUBLIC_TYPES)
    assert all(item["dataschema"] == f"{base_url}/schemas/{item['type']}.json" for item in listed)
    for item in listed:
        assert httpx.get(item["dataschema"], timeout=10).json()["$id"] == item["dataschema"]
    missing = httpx.get(f"{base_url}/schemas/org.complaints-suite.nothing.happened.v1.json", timeout=10)
    assert missing.status_code == 404 and "unknown event type" in missing.text


def test_a_subscription_filter_accepts_the_public_names_and_refuses_unknown_ones(
        app: TestClient, settings: NotifySettings) -> None:
    headers = notify_token(settings, subject=f"{PLATFORM}-integration", role="partner", platform=PLATFORM)
    ok = app.post("/v1/subscriptions", headers=headers,
                  json={"url": "http://127.0.0.1:9/hook", "event_types": [public.FREEZE_REQUESTED, "SlaBreached"]})
    assert ok.status_code == 201, ok.text
    bad = app.post("/v1/subscriptions", headers=headers,
                   json={"url": "http://127.0.0.1:9/hook", "event_types": ["org.complaints-suite.complaint.filed.v9"]})
    assert bad.status_code == 422 and "complaint.filed.v9" in bad.text


@pytest.fixture(scope="module")
def intake(service_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> Iterator[httpx.Client]:
    create_topics(env=service_env)
    with running_intake(env=service_env, log_dir=tmp_path_factory.mktemp("logs")) as client:
        yield client


def test_intakes_views_carry_the_complaint_id_that_keys_the_public_records(
        intake: httpx.Client, service_env: dict[str, str]) -> None:
    sent = body()
    filed = intake.post("/v1/complaints", json=sent, headers=complainant_of(sent))
    assert filed.status_code == 201, filed.text
    complaint_id = filed.json()["id"]
    assert complaint_id
    shown = intake.get(f"/v1/complaints/{filed.json()['ticket']}", headers=complainant_of(sent)).json()
    assert shown["id"] == complaint_id
    agent = token("agent-1", "agent", platform=sent["platform"])
    listed = intake.get("/v1/complaints", headers=agent, params={"limit": 100}).json()["items"]
    assert complaint_id in {item["id"] for item in listed}
    topic = f"{service_env['COMPLAINTS_TOPIC_PREFIX']}complaints.intake.events"
    [event] = wait_until(lambda: [m for m in topic_messages(bootstrap=service_env["KAFKA_BOOTSTRAP_SERVERS"],
                                                              topic=topic)
                                  if m["type"] == "ComplaintFiled" and m["ticket"] == shown["ticket"]],
                         timeout=30, what="the filing on intake's topic")
    # The complaint id is the record key partners see, and notify's status records are keyed by it.
    assert event["complaint_id"] == complaint_id and event["_key"] == complaint_id

