"""Filing by HTTP: numbered, classified, prioritised, Unicode intact, the events it emits, the steps reported back."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from pymongo import MongoClient
from pymongo.collection import Collection

from shared.contracts.escalation import CaseOpened, ComplaintStatusChanged
from shared.contracts.evidence import EvidenceFileOpened
from shared.contracts.notify import NotificationSent
from shared.envelope import Event
from shared.telemetry import read_trace
from shared.topics import TopicSettings
from tests.support import kafka
from tests.support.intake_calls import body, complainant_of, running_intake, token, topic_messages
from tests.support.suite import create_topics
from tests.support.waiting import wait_until

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def topics(service_env: dict[str, str]) -> TopicSettings:
    return create_topics(env=service_env)


@pytest.fixture(scope="module")
def intake_log(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where the intake process writes its log (JSON lines)."""
    return tmp_path_factory.mktemp("logs") / "intake.log"


@pytest.fixture(scope="module")
def intake(service_env: dict[str, str], topics: TopicSettings, intake_log: Path) -> Iterator[httpx.Client]:
    with running_intake(env=service_env, log_dir=intake_log.parent,
                        extra={"INTAKE_MERCHANT_OPEN_LIMIT": "3", "COMPLAINTS_LOG_LEVEL": "INFO"}) as client:
        yield client


def file(intake: httpx.Client, complaint: dict[str, Any], expect: int = 201) -> dict[str, Any]:
    response = intake.post("/v1/complaints", json=complaint, headers=complainant_of(complaint))
    assert response.status_code == expect, response.text
    return response.json()


def event_of(service_env: dict[str, str], topic: str, ticket: str, kind: str) -> dict[str, Any]:
    def find() -> dict[str, Any] | None:
        return next((m for m in topic_messages(bootstrap=service_env["KAFKA_BOOTSTRAP_SERVERS"], topic=topic)
                     if m.get("ticket") == ticket and m["type"] == kind), None)

    return wait_until(find, timeout=30, what=f"{kind} of {ticket} on {topic}")


def test_a_filed_complaint_gets_a_ticket_and_keeps_chinese_and_emoji(intake: httpx.Client) -> None:
    sent = body(**{"order.number": "KM-UNICODE-1"})
    filed = file(intake, sent)
    assert filed["ticket"].startswith("CP-") and len(filed["ticket"]) == len("CP-20261123-000001")
    again = intake.get(f"/v1/complaints/{filed['ticket']}", headers=complainant_of(sent)).json()
    for view in (filed, again):
        assert view["complainant"]["display_name"] == "张小明😀"
        assert view["merchant"]["name"] == "星辰点卡专营店🎮"
        assert view["description"]["what_happened"] == sent["description"]["what_happened"]
        assert view["complainant"]["contact"]["phone"] == "13812345678"  # the complainant's own view


def test_complaint_filed_carries_the_order_in_the_shared_contract(
    intake: httpx.Client, service_env: dict[str, str], topics: TopicSettings
) -> None:
    sent = body(**{"order.number": "KM-CONTRACT-1"})
    discovered = (datetime.fromisoformat(sent["description"]["occurred_at"]) + timedelta(minutes=30)).astimezone(UTC)
    discovered = discovered.replace(microsecond=0)
    sent["description"]["discovered_at"] = discovered.isoformat()
    filed = file(intake, sent)
    event = event_of(service_env, topics.intake_events, filed["ticket"], "ComplaintFiled")
    # escalation's complaint window starts here
    assert datetime.fromisoformat(event["discovered_at"].replace("Z", "+00:00")) == discovered
    assert event["order"]["order_number"] == "KM-CONTRACT-1"
    assert event["order"]["amount"] == {"amount_minor": 19600, "currency": "CNY"}
    assert event["order"]["payment_channel"] == "alipay"
    assert event["complainant"]["id"] == "u-10086" and event["complainant"]["language"] == "zh-CN"
    assert event["merchant"] == {"id": "m-2048", "name": "星辰点卡专营店🎮"}
    assert event["demand"] == {"type": "reissue", "count": 2, "note": None}
    assert event["_key"] == event["complaint_id"]


def test_category_is_inferred_from_chinese_text(intake: httpx.Client) -> None:
    filed = file(intake, body(**{"order.number": "KM-INFER-ZH", "category": ...,
                                 "description.what_happened": "付款成功后点券一直没到账，客服说在处理，已经两天了。"}))
    assert filed["category"] == "not-delivered"
    assert filed["category_inferred"] is True
    assert 0 < filed["category_confidence"] < 1


def test_category_is_inferred_from_english_text(intake: httpx.Client) -> None:
    filed = file(intake, body("complaint_en.json", **{"order.number": "KS-INFER-EN", "category": ...,
                 "description.what_happened": "Someone used my stolen card: I never made these payments "
                                              "and there are unknown charges on my statement."}))
    assert filed["category"] == "unauthorized-charge"
    assert filed["category_inferred"] is True
    assert filed["complainant"]["language"] == "en"


def test_a_given_category_is_kept_with_full_confidence(intake: httpx.Client) -> None:
    filed = file(intake, body("complaint_en.json", **{"order.number": "KS-GIVEN-1"}))
    assert (filed["category"], filed["category_inferred"], filed["category_confidence"]) == (
        "merchant-fraud", False, 1.0)


def test_an_unauthorized_charge_is_urgent_and_asks_for_a_freeze_at_once(
    intake: httpx.Client, service_env: dict[str, str], topics: TopicSettings
) -> None:
    filed = file(intake, body(**{"order.number": "KM-STOLEN-1", "category": "unauthorized-charge"}))
    assert filed["priority"] == "urgent"
    freeze = event_of(service_env, topics.intake_events, filed["ticket"], "AccountFreezeRequested")
    assert freeze["payment_channel"] == "alipay" and freeze["platform"] == "kameng-example"
    assert "13812345678" not in str(freeze)


def test_a_large_amount_is_high_priority(intake: httpx.Client) -> None:
    filed = file(intake, body(**{"order.number": "KM-BIG-1", "order.amount": 600_000,
                                 "demand": {"type": "refund", "mode": "full"}}))
    assert filed["priority"] == "high"
    assert any("exceeds" in reason for reason in filed["priority_reasons"])


def test_a_merchant_with_many_open_complaints_makes_new_ones_high(intake: httpx.Client) -> None:
    def against_busy_shop(n: int) -> dict[str, Any]:
        return file(intake, body(**{"order.number": f"KM-BUSY-{n}", "merchant.id": "m-busy"}))

    firsts = [against_busy_shop(n)["priority"] for n in range(3)]
    assert firsts == ["normal", "normal", "normal"]
    assert against_busy_shop(3)["priority"] == "high"


def test_a_merchant_stops_counting_as_busy_once_its_complaints_finish(
    intake: httpx.Client, service_env: dict[str, str], topics: TopicSettings, complaints: Collection
) -> None:
    def against(n: int) -> dict[str, Any]:
        return file(intake, body(**{"order.number": f"KM-CALM-{n}", "merchant.id": "m-calming"}))

    filed = [against(n) for n in range(4)]  # the limit is 3: the fourth is high
    assert [f["priority"] for f in filed] == ["normal", "normal", "normal", "high"]
    withdrawn = filed[0]
    assert intake.post(f"/v1/complaints/{withdrawn['ticket']}/withdraw", json={"reason": "商家已退款"},
                       headers=complainant_of(body(**{"order.number": "KM-CALM-0"}))).status_code == 200
    resolved = report(service_env, topics, complaints, filed[1]["ticket"], "resolved")
    send(service_env, topics, resolved)  # redelivered: the complaint still finishes only once
    headers = complainant_of(body(**{"order.number": "KM-CALM-1"}))
    wait_until(lambda: steps_of(intake, filed[1]["ticket"], headers, "status_resolved") == ("resolved", 1),
               timeout=30, what="the complaint resolved")
    # Two of four left open: the next filing is normal again, and makes three.
    assert against(4)["priority"] == "normal"
    assert against(5)["priority"] == "high"


def test_statement_withdrawal_and_correction_reach_the_topic(
    intake: httpx.Client, service_env: dict[str, str], topics: TopicSettings
) -> None:
    sent = body(**{"order.number": "KM-CHANGES-1"})
    ticket = file(intake, sent)["ticket"]
    agent = token("agent-7", "agent", platform="kameng-example")
    corrected = intake.put(f"/v1/complaints/{ticket}/category", headers=agent,
                           json={"category": "unauthorized-charge", "note": "用户来电说明是盗刷"})
    assert corrected.status_code == 200, corrected.text
    assert (corrected.json()["category"], corrected.json()["priority"]) == ("unauthorized-charge", "urgent")
    added = intake.post(f"/v1/complaints/{ticket}/statements", headers=complainant_of(sent),
                        json={"text": "商家说卡密 ABCD-EFGH-1234-5678 是好的 👀"})
    assert added.status_code == 201 and added.json()["statement"] == 1
    gone = intake.post(f"/v1/complaints/{ticket}/withdraw", headers=complainant_of(sent),
                       json={"reason": "商家已退款", "code": "resolved-by-merchant"})
    assert gone.json()["status"] == "withdrawn"
    assert intake.post(f"/v1/complaints/{ticket}/withdraw", headers=complainant_of(sent),
                       json={"reason": "again"}).status_code == 409
    correction = event_of(service_env, topics.intake_events, ticket, "ComplaintUpdated")
    assert correction["change"] == "category_corrected"
    assert correction["detail"]["note"] == "用户来电说明是盗刷" and correction["detail"]["to"] == "unauthorized-charge"
    assert event_of(service_env, topics.intake_events, ticket, "AccountFreezeRequested")
    withdrawn = event_of(service_env, topics.intake_events, ticket, "ComplaintWithdrawn")
    assert withdrawn["reason"] == "商家已退款"
    statements = [m for m in topic_messages(bootstrap=service_env["KAFKA_BOOTSTRAP_SERVERS"],
                                            topic=topics.intake_events)
                  if m.get("ticket") == ticket and m.get("change") == "statement_added"]
    assert len(statements) == 1 and "ABCD-EFGH-1234-5678" not in str(statements)


def _examples(operation: dict[str, Any]) -> list[dict[str, Any]]:
    found = [operation.get("requestBody", {}).get("content", {}).get("application/json", {}).get("examples", {})]
    found += [answer.get("content", {}).get("application/json", {}).get("examples", {})
              for answer in operation.get("responses", {}).values()]
    return [examples for examples in found if examples]


def test_openapi_lists_every_endpoint_with_chinese_and_english_examples(intake: httpx.Client) -> None:
    paths = intake.get("/openapi.json").json()["paths"]
    operations = {(method.upper(), path): op for path, item in paths.items() if path.startswith("/v1/complaints")
                  for method, op in item.items()}
    assert set(operations) == {
        ("POST", "/v1/complaints"), ("GET", "/v1/complaints"), ("GET", "/v1/complaints/{ticket}"),
        ("GET", "/v1/complaints/{ticket}/trace"), ("POST", "/v1/complaints/{ticket}/statements"),
        ("POST", "/v1/complaints/{ticket}/withdraw"), ("PUT", "/v1/complaints/{ticket}/category"),
    }
    for key, operation in operations.items():
        sets = _examples(operation)
        assert sets, key
        for examples in sets:
            assert {"zh", "en"} <= set(examples), key
    post = operations[("POST", "/v1/complaints")]["requestBody"]["content"]["application/json"]["examples"]
    assert post["zh"]["value"]["complainant"]["display_name"] == "张小明"
    assert post["en"]["value"]["complainant"]["display_name"] == "Alex Chen"


def test_asyncapi_lists_every_event_intake_publishes_and_the_command_it_takes(intake: httpx.Client) -> None:
    document = intake.get("/asyncapi.json").text
    for name in ("ComplaintFiled", "ComplaintUpdated", "ComplaintWithdrawn", "AccountFreezeRequested",
                 "FilingAcceptedCloudEvent", "FilingRejectedCloudEvent", "FileComplaint"):
        assert name in document, name


@pytest.fixture(scope="module")
def complaints(service_env: dict[str, str]) -> Iterator[Collection]:
    """Intake's complaints collection: the internal complaint id lives only there."""
    with MongoClient(service_env["MONGODB_URI"]) as client:
        yield client[service_env["INTAKE_MONGODB_DB"]]["complaints"]


def filed_complaint(intake: httpx.Client, order_number: str) -> tuple[str, dict[str, str]]:
    """File a complaint; its ticket and its complainant's headers."""
    sent = body(**{"order.number": order_number})
    return file(intake, sent)["ticket"], complainant_of(sent)


def report(service_env: dict[str, str], topics: TopicSettings, complaints: Collection, ticket: str,
           to_state: str) -> ComplaintStatusChanged:
    """Escalation's status change for the complaint, sent as escalation publishes it."""
    event = ComplaintStatusChanged(complaint_id=complaints.find_one({"ticket": ticket})["_id"], ticket=ticket,
                                   from_state="acknowledged", to_state=to_state, tier="internal")
    send(service_env, topics, event)
    return event


def send(service_env: dict[str, str], topics: TopicSettings, event: Event, *, topic: str | None = None) -> None:
    asyncio.run(kafka.send(bootstrap=service_env["KAFKA_BOOTSTRAP_SERVERS"], topic=topic or topics.escalation_events,
                           value=event.encode(), key=event.complaint_id.encode()))


def steps_of(intake: httpx.Client, ticket: str, headers: dict[str, str], step: str) -> tuple[str, int]:
    """The complaint's status and how many timeline entries the step has."""
    view = intake.get(f"/v1/complaints/{ticket}", headers=headers).json()
    return view["status"], sum(e["step"] == step for e in view["timeline"])


def test_a_status_change_delivered_twice_is_one_step_and_moves_the_status(
    intake: httpx.Client, service_env: dict[str, str], topics: TopicSettings, complaints: Collection
) -> None:
    ticket, headers = filed_complaint(intake, "KM-STEP-TWICE")
    event = report(service_env, topics, complaints, ticket, "in_review")
    send(service_env, topics, event)  # the broker redelivers it
    # Same key, same partition: once the later change is in, both copies were handled.
    report(service_env, topics, complaints, ticket, "awaiting_merchant")
    # The step and the complaint's status are two writes (see services/intake/repository/steps.py):
    # wait for both, so a read between them is not taken for a status that did not move.
    wait_until(lambda: steps_of(intake, ticket, headers, "status_awaiting_merchant") == ("awaiting_merchant", 1),
               timeout=30, what="the later status change on the timeline and the status")
    assert steps_of(intake, ticket, headers, "status_in_review") == ("awaiting_merchant", 1)


def test_every_service_s_steps_show_on_the_timeline_in_order_and_the_reconciler_stops_waiting(
    intake: httpx.Client, service_env: dict[str, str], topics: TopicSettings, complaints: Collection
) -> None:
    ticket, headers = filed_complaint(intake, "KM-STEP-ALL")
    complaint_id = complaints.find_one({"ticket": ticket})["_id"]
    waits = complaints.database["complaint_waits"]

    def waits_of(complaint_id: str) -> list[str]:
        return sorted(w["actor"] for w in waits.find({"complaint_id": complaint_id}))

    assert waits_of(complaint_id) == ["escalation", "evidence", "notify"]
    ids = {"complaint_id": complaint_id, "ticket": ticket}
    start = datetime.now(UTC)
    opened = CaseOpened(**ids, tier="platform", state="acknowledged", occurred_at=start)
    acknowledged = ComplaintStatusChanged(**ids, from_state="filed", to_state="acknowledged", tier="platform",
                                          occurred_at=start + timedelta(milliseconds=1))
    evidence = EvidenceFileOpened(**ids, required_kinds=["order_screenshot"], occurred_at=start + timedelta(seconds=1))
    notices = [NotificationSent(**ids, about_event_id=opened.event_id, about_event_type="ComplaintFiled",
                                recipient_role=role, channel="in_app", occurred_at=start + timedelta(seconds=2 + i))
               for i, role in enumerate(("complainant", "merchant"))]
    send(service_env, topics, opened)
    send(service_env, topics, acknowledged)
    send(service_env, topics, evidence, topic=topics.evidence_events)
    for notice in notices:
        send(service_env, topics, notice, topic=topics.notify_events)
    send(service_env, topics, notices[0], topic=topics.notify_events)  # redelivered

    def shown() -> dict[str, Any] | None:
        view = intake.get(f"/v1/complaints/{ticket}", headers=headers).json()
        return view if len(view["timeline"]) >= 6 else None

    view = wait_until(shown, timeout=30, what="every service's step on the timeline")
    assert [(e["service"], e["step"]) for e in view["timeline"]] == [
        ("intake", "filed"), ("escalation", "case_opened"), ("escalation", "status_acknowledged"),
        ("evidence", "evidence_file_opened"), ("notify", "notified_complainant"), ("notify", "notified_merchant")]
    assert (view["status"], view["tier"]) == ("acknowledged", "platform")
    assert datetime.fromisoformat(view["updated_at"]) == datetime.fromisoformat(view["timeline"][-1]["at"])
    # Every service has acted: the reconciler waits for none of them (it did for each, once filed).
    assert waits_of(complaint_id) == []


def test_steps_stored_in_the_complaint_before_they_had_their_own_collection_still_show(
    intake: httpx.Client, complaints: Collection
) -> None:
    ticket, headers = filed_complaint(intake, "KM-STEP-LEGACY")
    at = datetime.now(UTC) + timedelta(seconds=1)
    complaints.update_one({"ticket": ticket}, {"$push": {"timeline": {
        "event_id": "legacy-1", "at": at, "service": "escalation", "step": "case_opened", "detail": {}}}})
    view = intake.get(f"/v1/complaints/{ticket}", headers=headers).json()
    assert [(e["service"], e["step"]) for e in view["timeline"]] == [("intake", "filed"), ("escalation", "case_opened")]


def test_a_status_change_that_arrives_late_does_not_undo_a_newer_one(
    intake: httpx.Client, service_env: dict[str, str], topics: TopicSettings, complaints: Collection
) -> None:
    # A relay SIGKILLed after claiming an entry holds it for its lease: the case's next change goes
    # out first, and the older one arrives after it.
    ticket, headers = filed_complaint(intake, "KM-STEP-LATE")
    complaint_id = complaints.find_one({"ticket": ticket})["_id"]
    newer = ComplaintStatusChanged(complaint_id=complaint_id, ticket=ticket, from_state="resolved",
                                   to_state="closed", tier="internal")
    older = ComplaintStatusChanged(complaint_id=complaint_id, ticket=ticket, from_state="resolution_proposed",
                                   to_state="resolved", tier="internal",
                                   occurred_at=newer.occurred_at - timedelta(seconds=1))
    send(service_env, topics, newer)
    send(service_env, topics, older)
    wait_until(lambda: steps_of(intake, ticket, headers, "status_resolved")[1] == 1, timeout=30,
               what="the late status change on the timeline")
    assert steps_of(intake, ticket, headers, "status_closed") == ("closed", 1)


def test_a_withdrawn_complaint_keeps_later_steps_but_stays_withdrawn(
    intake: httpx.Client, service_env: dict[str, str], topics: TopicSettings, complaints: Collection
) -> None:
    ticket, headers = filed_complaint(intake, "KM-STEP-WITHDRAWN")
    assert intake.post(f"/v1/complaints/{ticket}/withdraw", json={"reason": "商家已退款"},
                       headers=headers).status_code == 200
    report(service_env, topics, complaints, ticket, "in_review")
    wait_until(lambda: steps_of(intake, ticket, headers, "status_in_review")[1] == 1, timeout=30,
               what="the step on the withdrawn complaint")
    assert steps_of(intake, ticket, headers, "status_in_review") == ("withdrawn", 1)


def test_a_resolved_complaint_frees_its_order_for_a_new_filing(
    intake: httpx.Client, service_env: dict[str, str], topics: TopicSettings, complaints: Collection
) -> None:
    ticket, headers = filed_complaint(intake, "KM-STEP-RESOLVED")
    report(service_env, topics, complaints, ticket, "resolved")
    wait_until(lambda: steps_of(intake, ticket, headers, "status_resolved") == ("resolved", 1),
               timeout=30, what="the complaint resolved")
    again, _ = filed_complaint(intake, "KM-STEP-RESOLVED")  # 201, not the resolved twin
    assert again != ticket


def test_a_request_s_json_log_line_carries_the_trace_and_span_of_its_server_span(
        intake: httpx.Client, intake_log: Path, service_env: dict[str, str]) -> None:
    sent = body(**{"order.number": "KM-LOG-LINE-1"})
    ticket = file(intake, sent)["ticket"]
    assert intake.get(f"/v1/complaints/{ticket}", headers=complainant_of(sent)).status_code == 200

    def access_line() -> dict[str, Any] | None:
        lines = [json.loads(line) for line in intake_log.read_text(encoding="utf-8").splitlines()
                 if line.startswith("{")]
        return next((line for line in lines if f"GET /v1/complaints/{ticket} " in line["message"]), None)

    line = wait_until(access_line, timeout=10, what=f"the log line of GET /v1/complaints/{ticket}")
    assert line["service"] == "intake" and line["ticket"] == ticket and line["level"] == "INFO"

    def server_span() -> dict[str, Any] | None:
        spans = read_trace(uri=service_env["MONGODB_URI"], db=service_env["COMPLAINTS_TELEMETRY_DB"],
                           trace_id=line["trace_id"], timeout_ms=3000)
        return next((s for s in spans if s["kind"] == "SERVER"), None)

    span = wait_until(server_span, timeout=10, what=f"the stored server span of trace {line['trace_id']}")
    assert span["span_id"] == line["span_id"] and span["name"] == "GET /v1/complaints/{ticket}"
