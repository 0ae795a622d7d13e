"""Case lifecycle over HTTP and Kafka: fraud routing and freeze, the 12315 guard, refusals, offers."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from pymongo import MongoClient

from shared.contracts.complaints import ComplaintUpdated, ComplaintWithdrawn
from shared.envelope import new_id, utcnow
from shared.topics import TopicSettings
from tests.support.escalation_cases import (
    escalation_client,
    filed,
    of,
    outbox_of,
    read_all,
    send,
    token,
    wait_case,
)
from tests.support.suite import create_topics
from tests.support.waiting import wait_until

pytestmark = pytest.mark.integration

AGENT = token(role="agent")
BUYER = token(role="complainant", subject="u-2001")
MERCHANT = token(role="merchant", subject="shop-1", merchant_id="m-1001")


@pytest.fixture(scope="module")
def topics(service_env: dict[str, str]) -> TopicSettings:
    return create_topics(env=service_env)


@pytest.fixture(scope="module")
def client(service_env: dict[str, str], topics: TopicSettings) -> Iterator[TestClient]:
    with escalation_client(env=service_env) as running:
        yield running


def open_case(client: TestClient, env: dict[str, str], topics: TopicSettings, **kw: object) -> dict:
    event = filed(**kw)
    send(bootstrap=env["KAFKA_BOOTSTRAP_SERVERS"], topic=topics.intake_events, events=[event])
    return wait_case(client, event.ticket, headers=AGENT)


def events(env: dict[str, str], topics: TopicSettings, cid: str, type_: str, n: int = 1) -> list[dict]:
    def check() -> list[dict] | None:
        found = of(read_all(bootstrap=env["KAFKA_BOOTSTRAP_SERVERS"], topic=topics.escalation_events),
                   complaint_id=cid, type_=type_)
        return found if len(found) >= n else None

    def explain() -> str:
        seen = read_all(bootstrap=env["KAFKA_BOOTSTRAP_SERVERS"], topic=topics.escalation_events)
        return (f"{outbox_of(env, cid)}; the topic holds {len(seen)} messages, "
                f"of this complaint: {[m['type'] for m in of(seen, complaint_id=cid)]}")
    return wait_until(check, timeout=30, interval=0.3, what=f"{n} {type_} for {cid}", explain=explain)


def act(client: TestClient, ticket: str, action: str, headers: dict, **body: object):
    return client.post(f"/v1/cases/{ticket}/actions/{action}", json=body, headers=headers)


def test_an_unauthorized_charge_goes_to_the_payment_channel_in_parallel_and_asks_for_a_freeze(
        client: TestClient, service_env: dict[str, str], topics: TopicSettings) -> None:
    case = open_case(client, service_env, topics, category="unauthorized-charge", channel="visa")
    assert (case["state"], case["tier"], case["priority"]) == ("payment_channel_dispute", "payment_channel", "urgent")
    assert case["route"]["parallel_tiers"] == ["internal"]
    assert case["account_freeze_requested"] is True
    assert {"chargeback", "first_response"} <= {c["name"] for c in case["clocks"]}
    duties = {(d["party"], d["action"]) for d in case["must_act_now"]}
    assert ("complainant", "file_channel_dispute") in duties
    buyer_duty = next(d for d in case["must_act_now"] if d["party"] == "complainant")
    assert buyer_duty["due_at"] and "北京时间" in buyer_duty["text_zh"]
    freeze = events(service_env, topics, case["complaint_id"], "AccountFreezeRequested")[0]
    assert (freeze["payment_channel"], freeze["platform"]) == ("visa", "kamen-1")
    escalated = events(service_env, topics, case["complaint_id"], "ComplaintEscalated")[0]
    assert escalated["to_tier"] == "payment_channel"


def test_windows_the_buyers_let_lapse_do_not_make_the_merchant_a_repeat_offender(
        client: TestClient, service_env: dict[str, str], topics: TopicSettings) -> None:
    # Three buyers complain ten days after they found the problem: each complaint window (7 days
    # from discovery, the buyer's own clock) is breached at once. The merchant missed nothing, so
    # its next complaint opens on the internal tier, not before the platform as a repeat offender.
    merchant, long_ago = f"m-late-{new_id()[:8]}", utcnow() - timedelta(days=10)
    late = [filed(category="not-delivered", merchant=merchant).model_copy(update={"discovered_at": long_ago})
            for _ in range(3)]
    send(bootstrap=service_env["KAFKA_BOOTSTRAP_SERVERS"], topic=topics.intake_events, events=late)
    for event in late:
        wait_until(lambda event=event: "complaint_window" in wait_case(
                       client, event.ticket, headers=AGENT)["breached_clocks"],
                   timeout=30, interval=0.3, what=f"the lapsed complaint window of {event.ticket}")
    later = open_case(client, service_env, topics, category="not-delivered", merchant=merchant)
    assert (later["tier"], later["state"]) == ("internal", "acknowledged")
    hot = client.get("/v1/analytics/hot-merchants", params={"by": "breached", "limit": 100}, headers=AGENT).json()
    mine = next(m for m in hot["items"] if m["merchant_id"] == merchant)
    assert (mine["open"], mine["breached_clocks"]) == (4, 0)


def test_the_12315_guard_names_what_is_missing_then_allows_after_a_refusal(
        client: TestClient, service_env: dict[str, str], topics: TopicSettings) -> None:
    ticket = open_case(client, service_env, topics, category="invalid-card-key")["ticket"]
    # Issue 22: the complainant's own filing is always recorded; the agent's escalation stays guarded.
    refused = act(client, ticket, "escalate", AGENT, reason="no answer", target="external")
    assert refused.status_code == 409, refused.text
    detail = refused.json()
    assert detail["rule"] == "tier_guard"
    assert detail["missing"] == ["refusal_record", "closed_ticket", "breached_clock"]
    assert "12315" in detail["detail_zh"]
    assert act(client, ticket, "respond", AGENT).status_code == 200
    assert act(client, ticket, "forward_to_merchant", AGENT).json()["state"] == "awaiting_merchant"
    contested = act(client, ticket, "merchant_response", MERCHANT, decision="contest",
                    reason="the key was delivered and redeemed, see the log")
    assert contested.status_code == 200, contested.text
    allowed = act(client, ticket, "record_external_filing", BUYER, reference="12315-2026-000123")
    assert allowed.status_code == 200, allowed.text
    body = allowed.json()
    assert (body["state"], body["tier"]) == ("external", "external")
    assert body["external_references"] == ["12315-2026-000123"]
    assert [h["action"] for h in body["history"]][-3:] == ["forward_to_merchant", "merchant_response",
                                                          "record_external_filing"]


def test_refusals_answer_403_409_and_422_naming_the_rule(
        client: TestClient, service_env: dict[str, str], topics: TopicSettings) -> None:
    ticket = open_case(client, service_env, topics, category="not-delivered")["ticket"]
    forbidden = act(client, ticket, "resolve", MERCHANT, resolution={"outcome": "refund"})
    assert forbidden.status_code == 403
    assert forbidden.json()["permitted"] == ["agent", "system"]
    illegal = act(client, ticket, "accept_resolution", BUYER)
    assert illegal.status_code == 409
    assert "in_review" in illegal.json()["allowed"]
    invalid = act(client, ticket, "request_evidence", AGENT, items=[])
    assert invalid.status_code == 422
    assert invalid.json()["errors"][0]["field"] == "items"
    bad_body = act(client, ticket, "propose_resolution", AGENT, resolution={"outcome": "compensation"})
    assert bad_body.status_code == 422
    assert "amount" in bad_body.text
    other_buyer = token(role="complainant", subject="u-9999")
    assert client.get(f"/v1/cases/{ticket}", headers=other_buyer).status_code == 404
    assert client.get(f"/v1/cases/{ticket}").status_code == 401


def test_an_offer_accepted_resolves_and_a_reopen_comes_back_to_review(
        client: TestClient, service_env: dict[str, str], topics: TopicSettings) -> None:
    case = open_case(client, service_env, topics, category="wrong-delivery")
    ticket, cid = case["ticket"], case["complaint_id"]
    assigned = act(client, ticket, "assign", AGENT, agent_id="agent-42")
    assert assigned.json()["assigned_agent"] == "agent-42"
    offer = act(client, ticket, "propose_resolution", AGENT, reason="reissue the right card",
                resolution={"outcome": "reissue", "keys": 1})
    assert offer.json()["state"] == "resolution_proposed"
    waiting = next(d for d in offer.json()["must_act_now"] if d["party"] == "complainant")
    assert waiting["action"] == "answer_offer" and "卡密" in waiting["text_zh"]
    paused = {c["name"]: c["status"] for c in offer.json()["clocks"]}
    assert paused["first_response"] == "paused"
    accepted = act(client, ticket, "accept_resolution", BUYER)
    assert (accepted.json()["state"], accepted.json()["outcome"]["outcome"]) == ("resolved", "reissue")
    assert act(client, ticket, "close", AGENT).json()["state"] == "closed"
    assert act(client, ticket, "reopen", BUYER, reason="the new key fails too").json()["state"] == "in_review"
    assert events(service_env, topics, cid, "CaseAssigned")[0]["agent_id"] == "agent-42"
    assert events(service_env, topics, cid, "ResolutionProposed")[0]["outcome"] == "reissue"
    assert events(service_env, topics, cid, "ResolutionAccepted")[0]["outcome"] == "reissue"
    changes = events(service_env, topics, cid, "ComplaintStatusChanged", n=6)
    assert [c["action"] for c in changes][-4:] == ["propose_resolution", "accept_resolution", "close", "reopen"]
    assert changes[-1]["actor_role"] == "complainant" and changes[-1]["actor_id"] == "u-2001"


def test_a_withdrawal_from_intake_finishes_the_case(
        client: TestClient, service_env: dict[str, str], topics: TopicSettings) -> None:
    case = open_case(client, service_env, topics, category="refund-refused")
    send(bootstrap=service_env["KAFKA_BOOTSTRAP_SERVERS"], topic=topics.intake_events,
         events=[ComplaintWithdrawn(complaint_id=case["complaint_id"], ticket=case["ticket"],
                                    reason="已收到退款")])
    done = wait_case(client, case["ticket"], headers=AGENT, state="withdrawn")
    assert all(c["status"] == "stopped" for c in done["clocks"])
    assert done["must_act_now"] == []


def test_a_category_corrected_to_unauthorized_charge_reroutes_and_asks_for_a_freeze(
        client: TestClient, service_env: dict[str, str], topics: TopicSettings) -> None:
    case = open_case(client, service_env, topics, category="invalid-card-key", channel="wechat")
    assert case["account_freeze_requested"] is False
    send(bootstrap=service_env["KAFKA_BOOTSTRAP_SERVERS"], topic=topics.intake_events,
         events=[ComplaintUpdated(complaint_id=case["complaint_id"], ticket=case["ticket"],
                                  change="category_corrected", detail={"category": "unauthorized-charge"})])
    moved = wait_case(client, case["ticket"], headers=AGENT, state="payment_channel_dispute")
    assert (moved["category"], moved["tier"], moved["priority"]) == ("unauthorized-charge", "payment_channel", "urgent")
    assert moved["account_freeze_requested"] is True
    freeze = events(service_env, topics, case["complaint_id"], "AccountFreezeRequested")[0]
    assert freeze["payment_channel"] == "wechat"


def test_a_case_stored_with_the_old_underscore_category_reads_and_acts_in_the_shared_spelling(
        client: TestClient, service_env: dict[str, str], topics: TopicSettings) -> None:
    case = open_case(client, service_env, topics, category="invalid-card-key")
    with MongoClient(service_env["MONGODB_URI"], serverSelectionTimeoutMS=3000) as mongo:
        mongo[service_env["ESCALATION_MONGODB_DB"]]["cases"].update_one(
            {"_id": case["complaint_id"]}, {"$set": {"category": "invalid_card_key"}})
    assert client.get(f"/v1/cases/{case['ticket']}", headers=AGENT).json()["category"] == "invalid-card-key"
    answered = act(client, case["ticket"], "respond", AGENT)
    assert answered.status_code == 200, answered.text
    assert answered.json()["category"] == "invalid-card-key"


def test_a_malformed_action_names_the_field_in_both_languages_and_asyncapi_lists_the_events(
        client: TestClient, service_env: dict[str, str], topics: TopicSettings) -> None:
    ticket = open_case(client, service_env, topics, category="data-leak")["ticket"]
    wrong = act(client, ticket, "escalate", BUYER, reason="no answer", target="moon")
    assert wrong.status_code == 422
    (problem,) = wrong.json()["errors"]
    assert problem["field"] == "target" and "字段 target" in problem["message_zh"]
    spec = client.get("/asyncapi.json").text
    for name in ("SlaWarning", "SlaBreached", "ComplaintEscalated", "CaseAssigned", "AccountFreezeRequested",
                 "ResolutionProposed", "ResolutionAccepted", "ResolutionRejected"):
        assert name in spec


def test_a_rejected_offer_goes_back_to_handling_and_legal_is_open_at_any_amount(
        client: TestClient, service_env: dict[str, str], topics: TopicSettings) -> None:
    small = open_case(client, service_env, topics, category="merchant-fraud", amount_minor=2900)
    offered = act(client, small["ticket"], "propose_resolution", MERCHANT,
                  resolution={"outcome": "partial_refund", "amount": {"amount_minor": 1000, "currency": "CNY"}})
    assert offered.status_code == 200, offered.text
    rejected = act(client, small["ticket"], "reject_resolution", BUYER, reason="退一赔三")
    assert rejected.json()["state"] == "acknowledged" and rejected.json()["offer"] is None
    assert events(service_env, topics, small["complaint_id"], "ResolutionRejected")[0]["reason"] == "退一赔三"
    legal = act(client, small["ticket"], "escalate", AGENT, reason="fraud", target="legal")
    assert legal.status_code == 200, legal.text
    # Issue 22: the legal tier (small claims) is open to every case; 5,000 CNY only raises priority.
    plain = open_case(client, service_env, topics, category="not-delivered", amount_minor=2900)
    assert act(client, plain["ticket"], "escalate", AGENT, reason="slow", target="legal").status_code == 200
    large = open_case(client, service_env, topics, category="not-delivered", amount_minor=600000)
    assert "legal" in large["route"]["next_tiers"]
    moved = act(client, large["ticket"], "escalate", AGENT, reason="over 5,000 CNY", target="legal")
    assert (moved.json()["state"], moved.json()["tier"]) == ("legal", "legal")


def test_an_action_retried_under_its_idempotency_key_is_taken_once_and_answered_the_same(
        client: TestClient, service_env: dict[str, str], topics: TopicSettings) -> None:
    ticket = open_case(client, service_env, topics, category="not-delivered")["ticket"]
    keyed = {**AGENT, "Idempotency-Key": f"respond-{ticket}"}
    first = client.post(f"/v1/cases/{ticket}/actions/respond", json={"reason": "looking into it"}, headers=keyed)
    again = client.post(f"/v1/cases/{ticket}/actions/respond", json={"reason": "looking into it"}, headers=keyed)
    assert first.status_code == again.status_code == 200, again.text
    assert again.json() == first.json() and again.headers["Idempotent-Replayed"] == "true"
    history = client.get(f"/v1/cases/{ticket}", headers=AGENT).json()["history"]
    assert [h["action"] for h in history].count("respond") == 1
    other = client.post(f"/v1/cases/{ticket}/actions/respond", json={"reason": "something else"}, headers=keyed)
    assert other.status_code == 422 and other.json()["errors"][0]["rule"] == "idempotency_key_reused"
    bad = client.post(f"/v1/cases/{ticket}/actions/respond", json={}, headers={**AGENT, "Idempotency-Key": "k" * 256})
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "Idempotency-Key"


def test_concurrent_retries_of_one_keyed_action_take_it_once(
        client: TestClient, service_env: dict[str, str], topics: TopicSettings) -> None:
    ticket = open_case(client, service_env, topics, category="not-delivered")["ticket"]
    assert act(client, ticket, "respond", AGENT).status_code == 200
    keyed = {**AGENT, "Idempotency-Key": f"forward-{ticket}"}
    with ThreadPoolExecutor(max_workers=6) as pool:
        answers = list(pool.map(lambda _: client.post(f"/v1/cases/{ticket}/actions/forward_to_merchant",
                                                      json={}, headers=keyed), range(6)))
    assert {a.status_code for a in answers} == {200}, [a.text for a in answers]
    assert {a.json()["state"] for a in answers} == {"awaiting_merchant"}
    history = client.get(f"/v1/cases/{ticket}", headers=AGENT).json()["history"]
    assert [h["action"] for h in history].count("forward_to_merchant") == 1
