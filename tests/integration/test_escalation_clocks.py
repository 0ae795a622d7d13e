"""SLA clocks on the real broker and store: a breach escalates by itself, a paused clock resumes."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient

from shared.contracts.evidence import EvidenceSubmitted
from shared.envelope import new_id, utcnow
from shared.topics import TopicSettings
from tests.support.escalation_cases import (
    FAST_POLICY,
    escalation_client,
    filed,
    instant,
    of,
    read_all,
    send,
    token,
    wait_case,
)
from tests.support.metrics import scrape, scrape_when, total
from tests.support.suite import create_topics
from tests.support.waiting import wait_until

pytestmark = pytest.mark.integration

AGENT = token(role="agent")


@pytest.fixture(scope="module")
def topics(service_env: dict[str, str]) -> TopicSettings:
    return create_topics(env=service_env)


@pytest.fixture(scope="module")
def client(service_env: dict[str, str], topics: TopicSettings) -> Iterator[TestClient]:
    with escalation_client(env=service_env, policy=FAST_POLICY) as running:
        yield running


def messages(env: dict[str, str], topics: TopicSettings, cid: str) -> list[dict]:
    return of(read_all(bootstrap=env["KAFKA_BOOTSTRAP_SERVERS"], topic=topics.escalation_events),
              complaint_id=cid)


def first_response(case: dict) -> dict:
    return next(c for c in case["clocks"] if c["name"] == "first_response")


def test_a_missed_first_response_warns_then_escalates_to_the_platform(
        client: TestClient, service_env: dict[str, str], topics: TopicSettings) -> None:
    event = filed(category="slow-or-rude-service")
    send(bootstrap=service_env["KAFKA_BOOTSTRAP_SERVERS"], topic=topics.intake_events, events=[event])
    opened = wait_case(client, event.ticket, headers=AGENT, state="acknowledged")
    due = instant(first_response(opened)["due_at"])
    case = wait_case(client, event.ticket, headers=AGENT, state="platform_arbitration", timeout=30)
    assert case["tier"] == "platform"
    assert "first_response" in case["breached_clocks"]
    assert {(d["party"], d["action"]) for d in case["must_act_now"]} >= {("agent", "arbitrate")}
    found = wait_until(lambda: (m := messages(service_env, topics, event.complaint_id))
                       and any(x["type"] == "ComplaintEscalated" for x in m) and m,
                       timeout=20, what="the escalation events")
    kinds = [m["type"] for m in found]
    assert kinds.index("SlaWarning") < kinds.index("SlaBreached") < kinds.index("ComplaintEscalated")
    breach = next(m for m in found if m["type"] == "SlaBreached")
    assert (breach["clock"], breach["escalated_to"]) == ("first_response", "platform")
    assert instant(breach["due_at"]) == due
    escalated = next(m for m in found if m["type"] == "ComplaintEscalated")
    assert (escalated["from_tier"], escalated["to_tier"]) == ("internal", "platform")
    status = [m for m in found if m["type"] == "ComplaintStatusChanged"][-1]
    assert (status["to_state"], status["actor_role"], status["action"]) == (
        "platform_arbitration", "system", "escalate")


def test_a_clock_paused_for_evidence_resumes_with_the_paused_time_added(
        client: TestClient, service_env: dict[str, str], topics: TopicSettings) -> None:
    bootstrap = service_env["KAFKA_BOOTSTRAP_SERVERS"]
    event = filed(category="slow-or-rude-service")
    send(bootstrap=bootstrap, topic=topics.intake_events, events=[event])
    wait_case(client, event.ticket, headers=AGENT, state="acknowledged")
    asked = client.post(f"/v1/cases/{event.ticket}/actions/request_evidence", headers=AGENT,
                        json={"items": ["channel_closing_notice"]})
    assert asked.status_code == 200, asked.text
    paused = first_response(asked.json())
    assert paused["status"] == "paused"
    duty = next(d for d in asked.json()["must_act_now"] if d["party"] == "complainant")
    assert "支付渠道的交易关闭通知" in duty["text_zh"]
    original_due = instant(paused["due_at"])
    # Let the original deadline pass while the clock is paused: nothing may fire.
    wait_until(lambda: utcnow() > original_due + timedelta(seconds=1.5), timeout=15,
               what="the original deadline to pass")
    types = [m["type"] for m in messages(service_env, topics, event.complaint_id)]
    assert "SlaBreached" not in types
    assert first_response(wait_case(client, event.ticket, headers=AGENT))["status"] == "paused"
    send(bootstrap=bootstrap, topic=topics.evidence_events, events=[EvidenceSubmitted(
        complaint_id=event.complaint_id, ticket=event.ticket, evidence_id=new_id(), number=1,
        kind="payment_proof", sha256="0" * 64, size=1024)])
    resumed = wait_case(client, event.ticket, headers=AGENT, state="in_review")
    clock = first_response(resumed)
    assert clock["status"] in {"running", "warned", "breached"}
    new_due = instant(clock["due_at"])
    assert new_due > original_due + timedelta(seconds=1.5)
    breach = wait_until(lambda: of(messages(service_env, topics, event.complaint_id)
                                   and read_all(bootstrap=bootstrap, topic=topics.escalation_events),
                                   complaint_id=event.complaint_id, type_="SlaBreached"),
                        timeout=30, interval=0.3, what="the breach of the resumed clock")
    assert len(breach) == 1
    assert instant(breach[0]["due_at"]) == new_due


def test_the_complaint_window_runs_seven_days_from_discovery_and_falls_back_to_the_incident(
        client: TestClient, service_env: dict[str, str], topics: TopicSettings) -> None:
    bootstrap, now = service_env["KAFKA_BOOTSTRAP_SERVERS"], utcnow()
    discovered = filed(category="not-delivered").model_copy(
        update={"discovered_at": now - timedelta(days=2), "incident_at": now - timedelta(days=3)})
    incident_only = filed(category="not-delivered").model_copy(update={"incident_at": now - timedelta(days=5)})
    unstated = filed(category="not-delivered")
    send(bootstrap=bootstrap, topic=topics.intake_events, events=[discovered, incident_only, unstated])
    for event, anchor in ((discovered, now - timedelta(days=2)), (incident_only, now - timedelta(days=5)),
                          (unstated, unstated.filed_at)):
        case = wait_case(client, event.ticket, headers=AGENT, state="acknowledged")
        window = next(c for c in case["clocks"] if c["name"] == "complaint_window")
        assert abs(instant(window["due_at"]) - (anchor + timedelta(days=7))) < timedelta(seconds=1), event.ticket


def test_a_merchant_that_let_three_clocks_run_out_faces_the_platform_first(
        client: TestClient, service_env: dict[str, str], topics: TopicSettings) -> None:
    # Three complaints nobody answers: each first-response clock (4.32 s here) runs out, which the
    # merchant's side owns. The merchant's next complaint opens before the platform (repeat offender).
    merchant = f"m-slow-{new_id()[:8]}"
    ignored = [filed(category="slow-or-rude-service", merchant=merchant) for _ in range(3)]
    send(bootstrap=service_env["KAFKA_BOOTSTRAP_SERVERS"], topic=topics.intake_events, events=ignored)
    for event in ignored:
        wait_case(client, event.ticket, headers=AGENT, state="platform_arbitration", timeout=30)
    quiet = filed(category="slow-or-rude-service", merchant=f"m-quiet-{new_id()[:8]}")
    repeat = filed(category="slow-or-rude-service", merchant=merchant)
    send(bootstrap=service_env["KAFKA_BOOTSTRAP_SERVERS"], topic=topics.intake_events, events=[quiet, repeat])
    assert "repeat-offender" not in wait_case(client, quiet.ticket, headers=AGENT)["route"]["matched_rules"]
    case = wait_case(client, repeat.ticket, headers=AGENT)
    assert (case["tier"], case["state"]) == ("platform", "platform_arbitration")
    assert "repeat-offender" in case["route"]["matched_rules"]



def test_metrics_count_the_warning_and_breach_by_clock_and_how_late_each_timer_fired(
        client: TestClient, service_env: dict[str, str], topics: TopicSettings) -> None:
    before = scrape(client)
    warned = total(before, "complaints_sla_warnings_total", clock="first_response")
    breached = total(before, "complaints_sla_breaches_total", clock="first_response")
    fired = total(before, "complaints_timer_lag_seconds_count", kind="breach")
    event = filed(category="slow-or-rude-service")
    send(bootstrap=service_env["KAFKA_BOOTSTRAP_SERVERS"], topic=topics.intake_events, events=[event])
    # The breach is counted as it fires; the consumer lag is a gauge sampled at most once a second
    # (shared/metrics.py), so a scrape may show the lag of a moment before the filing's offset was
    # committed: wait for the breach and a sample taken after that commit.
    after = wait_until(lambda: scrape_when(client, lambda s: total(
        s, "complaints_sla_breaches_total", clock="first_response") > breached and total(
        s, "complaints_consumer_lag", topic=topics.intake_events) == 0), timeout=30,
        what="the first-response breach counted and the filing's offset committed")
    assert total(after, "complaints_sla_warnings_total", clock="first_response") > warned
    assert total(after, "complaints_timer_lag_seconds_count", kind="breach") > fired
    # The fast clock's timers fire within a few polls of their due time, never before it.
    assert 0 <= total(after, "complaints_timer_lag_seconds_sum", kind="breach") < 30 * total(
        after, "complaints_timer_lag_seconds_count", kind="breach")
    assert total(after, "complaints_timer_lag_seconds_bucket", kind="breach", le="+Inf") == total(
        after, "complaints_timer_lag_seconds_count", kind="breach")
    assert total(after, "complaints_consumer_lag", topic=topics.intake_events) == 0
