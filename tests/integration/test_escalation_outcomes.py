"""Escalation's outcomes over HTTP and Kafka: evidence gates money offers, the automatic tier refunds
on the channel's confirmation, remedies as the law has them, the complainant's own filings, a
"no 7-day return" refusal recognised, and the freeze confirmed."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from pymongo import MongoClient

from shared.contracts.complaints import ComplaintUpdated, ComplaintWithdrawn
from shared.contracts.evidence import EvidenceAssessed, PaymentDebitConfirmed
from shared.envelope import Event, new_id
from shared.money import Money
from shared.topics import TopicSettings
from tests.support.escalation_cases import (
    DATA,
    escalation_client,
    filed,
    instant,
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
PARTNER = token(role="partner", subject="kamen-1-integration")
BUYER = token(role="complainant", subject="u-2001")
MERCHANT = token(role="merchant", subject="shop-1", merchant_id="m-1001")
EXPECTED = DATA / "outcomes"


def _cny(minor: int) -> dict:
    return {"amount_minor": minor, "currency": "CNY"}


@pytest.fixture(scope="module")
def topics(service_env: dict[str, str]) -> TopicSettings:
    return create_topics(env=service_env)


@pytest.fixture(scope="module")
def client(service_env: dict[str, str], topics: TopicSettings) -> Iterator[TestClient]:
    with escalation_client(env=service_env) as running:  # the shipped policy
        yield running


def open_case(client: TestClient, env: dict[str, str], topics: TopicSettings, **kw: object) -> dict:
    event = filed(**kw)
    send(bootstrap=env["KAFKA_BOOTSTRAP_SERVERS"], topic=topics.intake_events, events=[event])
    return wait_case(client, event.ticket, headers=AGENT)


def publish(env: dict[str, str], topic: str, *events: Event) -> None:
    send(bootstrap=env["KAFKA_BOOTSTRAP_SERVERS"], topic=topic, events=list(events))


def events(env: dict[str, str], topics: TopicSettings, cid: str, type_: str, n: int = 1) -> list[dict]:
    def check() -> list[dict] | None:
        found = of(read_all(bootstrap=env["KAFKA_BOOTSTRAP_SERVERS"], topic=topics.escalation_events),
                   complaint_id=cid, type_=type_)
        return found if len(found) >= n else None

    def explain() -> str:
        seen = read_all(bootstrap=env["KAFKA_BOOTSTRAP_SERVERS"], topic=topics.escalation_events)
        return f"{outbox_of(env, cid)}; of this complaint: {[m['type'] for m in of(seen, complaint_id=cid)]}"
    return wait_until(check, timeout=30, interval=0.3, what=f"{n} {type_} for {cid}", explain=explain)


def act(client: TestClient, ticket: str, action: str, headers: dict, **body: object):
    return client.post(f"/v1/cases/{ticket}/actions/{action}", json=body, headers=headers)


def assessed(case: dict, *missing: str) -> EvidenceAssessed:
    return EvidenceAssessed(complaint_id=case["complaint_id"], ticket=case["ticket"],
                            completeness_score=100 - 33 * len(missing), missing=list(missing))


def wait_view(client: TestClient, ticket: str, check, what: str) -> dict:
    return wait_until(lambda: (v := client.get(f"/v1/cases/{ticket}", headers=AGENT).json()) and check(v) and v,
                      timeout=30, interval=0.2, what=what)


def test_a_charged_no_order_refund_is_refused_while_the_channel_notice_is_missing(
        client: TestClient, service_env: dict[str, str], topics: TopicSettings) -> None:
    case = open_case(client, service_env, topics, category="charged-no-order", amount_minor=10000)
    ticket = case["ticket"]
    publish(service_env, topics.evidence_events, assessed(case, "channel_notice"))
    wait_view(client, ticket, lambda v: v["evidence"] and v["evidence"]["missing"], "the assessment on the case")
    refused = act(client, ticket, "propose_resolution", AGENT, resolution={"outcome": "refund"}, reason="debit shown")
    assert refused.status_code == 409, refused.text
    detail = refused.json()
    assert (detail["rule"], detail["missing"]) == ("evidence_missing", ["channel_notice"])
    (item,) = detail["items"]
    assert (item["field"], item["rule"]) == ("channel_notice", "required_evidence")
    assert "payment channel" in item["message_en"] and "支付渠道" in item["message_zh"]
    assert "支付渠道" in detail["detail_zh"] and "override_missing_evidence" in detail["detail"]
    # The complainant uploads the notice: evidence's next assessment no longer lists it.
    publish(service_env, topics.evidence_events, assessed(case))
    wait_view(client, ticket, lambda v: v["evidence"]["missing"] == [], "the newer assessment")
    allowed = act(client, ticket, "propose_resolution", AGENT, resolution={"outcome": "refund"}, reason="debit shown")
    assert allowed.status_code == 200, allowed.text
    assert allowed.json()["offer"]["refund"] == _cny(10000)
    assert allowed.json()["evidence_overrides"] == []


def test_an_agent_may_override_missing_evidence_with_a_reason_recorded_on_the_timeline(
        client: TestClient, service_env: dict[str, str], topics: TopicSettings) -> None:
    case = open_case(client, service_env, topics, category="charged-no-order", amount_minor=10000)
    ticket, cid = case["ticket"], case["complaint_id"]
    publish(service_env, topics.evidence_events, assessed(case, "channel_notice"))
    wait_view(client, ticket, lambda v: v["evidence"] and v["evidence"]["missing"], "the assessment on the case")
    empty = act(client, ticket, "propose_resolution", AGENT, resolution={"outcome": "refund"},
                override_missing_evidence={"reason": ""})
    assert empty.status_code == 422 and "override_missing_evidence" in empty.text
    why = "bank statement shows the debit and the merchant confirmed no order"
    done = act(client, ticket, "propose_resolution", AGENT, resolution={"outcome": "refund"},
               override_missing_evidence={"reason": why})
    assert done.status_code == 200, done.text
    body = done.json()
    assert body["state"] == "resolution_proposed"
    assert body["history"][-1]["override_missing_evidence"] == {"reason": why, "missing": ["channel_notice"]}
    assert body["evidence_overrides"][0]["missing"] == ["channel_notice"]
    proposed = events(service_env, topics, cid, "ResolutionProposed")[0]
    assert proposed["missing_evidence_overridden"] == ["channel_notice"] and proposed["automatic"] is False
    change = [c for c in events(service_env, topics, cid, "ComplaintStatusChanged", n=2)
              if c["action"] == "propose_resolution"][0]
    assert "missing evidence overridden (channel_notice)" in change["reason"]


def test_the_automatic_tier_proposes_a_full_refund_when_the_channel_confirms_the_debit(
        client: TestClient, service_env: dict[str, str], topics: TopicSettings) -> None:
    case = open_case(client, service_env, topics, category="charged-no-order", amount_minor=10000)
    ticket, cid = case["ticket"], case["complaint_id"]
    assert (case["state"], case["tier"]) == ("acknowledged", "automatic")
    window = next(c for c in case["clocks"] if c["name"] == "automatic_window")
    assert instant(window["due_at"]) - instant(window["started_at"]) == timedelta(hours=24)
    # Evidence still lists the notice: the channel's own record stands for it, no agent overrides.
    publish(service_env, topics.evidence_events, assessed(case, "channel_notice"),
            PaymentDebitConfirmed(complaint_id=cid, ticket=ticket, transaction_id=f"TX{new_id()[:10]}",
                                  amount=Money(amount_minor=10000, currency="CNY"), source="alipay",
                                  record_status="paid"))
    offered = wait_case(client, ticket, headers=AGENT, state="resolution_proposed")
    assert offered["tier"] == "automatic" and offered["offer"]["refund"] == _cny(10000)
    assert offered["assigned_agent"] is None
    assert {h["actor"] for h in offered["history"]} == {"system"}
    proposed = events(service_env, topics, cid, "ResolutionProposed")[0]
    assert (proposed["outcome"], proposed["refund"], proposed["automatic"]) == ("refund", _cny(10000), True)
    assert [c for c in events(service_env, topics, cid, "ComplaintStatusChanged", n=2)
            if c["action"] == "propose_resolution"][0]["actor_role"] == "system"
    accepted = act(client, ticket, "accept_resolution", BUYER)
    assert (accepted.json()["state"], accepted.json()["outcome"]["refund"]) == ("resolved", _cny(10000))
    window = next(c for c in accepted.json()["clocks"] if c["name"] == "automatic_window")
    assert window["status"] == "stopped"


def test_a_confirmation_read_before_the_filing_waits_for_the_case_and_refunds_when_it_opens(
        client: TestClient, service_env: dict[str, str], topics: TopicSettings) -> None:
    event = filed(category="charged-no-order", amount_minor=4900)
    publish(service_env, topics.evidence_events, PaymentDebitConfirmed(
        complaint_id=event.complaint_id, ticket=event.ticket, transaction_id="TX-early",
        amount=Money(amount_minor=4900, currency="CNY"), source="wechat", record_status="paid"))
    with MongoClient(service_env["MONGODB_URI"], serverSelectionTimeoutMS=3000) as mongo:
        parked = mongo[service_env["ESCALATION_MONGODB_DB"]]["parked_facts"]
        wait_until(lambda: parked.find_one({"complaint_id": event.complaint_id}), timeout=30, interval=0.2,
                   what="escalation holding the confirmation for a case not opened yet")
    publish(service_env, topics.intake_events, event)
    offered = wait_case(client, event.ticket, headers=AGENT, state="resolution_proposed")
    assert (offered["tier"], offered["offer"]["refund"]) == ("automatic", _cny(4900))
    assert offered["debit_confirmed"]["transaction_id"] == "TX-early"


def test_a_statement_hands_the_automatic_tier_to_internal_handling_and_no_refund_follows(
        client: TestClient, service_env: dict[str, str], topics: TopicSettings) -> None:
    case = open_case(client, service_env, topics, category="charged-no-order", amount_minor=10000)
    ticket, cid = case["ticket"], case["complaint_id"]
    publish(service_env, topics.intake_events, ComplaintUpdated(
        complaint_id=cid, ticket=ticket, change="statement_added", detail={"number": 1, "text": "我又付了一次"}))
    moved = wait_view(client, ticket, lambda v: v["tier"] == "internal", "the case at internal handling")
    assert moved["state"] == "acknowledged"
    assert events(service_env, topics, cid, "ComplaintEscalated")[0]["from_tier"] == "automatic"
    publish(service_env, topics.evidence_events, PaymentDebitConfirmed(
        complaint_id=cid, ticket=ticket, transaction_id="TX-late", amount=Money(amount_minor=10000, currency="CNY"),
        source="alipay", record_status="paid"))
    kept = wait_view(client, ticket, lambda v: v["debit_confirmed"], "the confirmation kept on the case")
    assert (kept["state"], kept["offer"]) == ("acknowledged", None)  # an agent decides now


def test_a_charged_no_order_corrected_to_another_category_leaves_the_automatic_tier(
        client: TestClient, service_env: dict[str, str], topics: TopicSettings) -> None:
    case = open_case(client, service_env, topics, category="charged-no-order")
    publish(service_env, topics.intake_events, ComplaintUpdated(
        complaint_id=case["complaint_id"], ticket=case["ticket"], change="category_corrected",
        detail={"category": "invalid-card-key"}))
    moved = wait_view(client, case["ticket"], lambda v: v["category"] == "invalid-card-key", "the corrected case")
    assert (moved["state"], moved["tier"]) == ("acknowledged", "internal")
    window = next(c for c in moved["clocks"] if c["name"] == "automatic_window")
    assert window["status"] == "stopped"


def test_seed_003_refund_29_and_10_compensation_for_the_delay_is_proposed_and_accepted_as_such(
        client: TestClient, service_env: dict[str, str], topics: TopicSettings) -> None:
    case = open_case(client, service_env, topics, category="not-delivered", amount_minor=2900)
    ticket, cid = case["ticket"], case["complaint_id"]
    offer = act(client, ticket, "propose_resolution", AGENT, reason="退款29元并赔偿10元延误损失",
                resolution={"outcome": "refund", "refund": _cny(2900), "compensation": _cny(1000),
                            "compensation_basis": "delay"})
    assert offer.status_code == 200, offer.text
    accepted = act(client, ticket, "accept_resolution", BUYER)
    assert {d["party"] for d in accepted.json()["must_act_now"]} == {"merchant"}  # the duty moved to the shop
    outcome = accepted.json()["outcome"]
    assert (outcome["outcome"], outcome["refund"], outcome["compensation"], outcome["compensation_basis"]) == (
        "refund", _cny(2900), _cny(1000), "delay")
    expected = json.loads((EXPECTED / "seed_003_offer.json").read_text(encoding="utf-8"))
    proposed = events(service_env, topics, cid, "ResolutionProposed")[0]
    assert {k: proposed[k] for k in expected if not k.startswith("_")} == {
        k: v for k, v in expected.items() if not k.startswith("_")}
    assert events(service_env, topics, cid, "ResolutionAccepted")[0]["outcome"] == "refund"
    too_much = open_case(client, service_env, topics, category="not-delivered", amount_minor=2900)
    over = act(client, too_much["ticket"], "propose_resolution", AGENT,
               resolution={"outcome": "partial_refund", "refund": _cny(3000)})
    assert over.status_code == 422 and over.json()["errors"][0]["field"] == "resolution.refund.amount_minor"


@pytest.mark.parametrize("index", [0, 1], ids=["300-cny", "99-cny-floor"])
def test_fraud_triple_gives_the_refund_plus_three_times_the_price_at_least_500_cny(
        client: TestClient, service_env: dict[str, str], topics: TopicSettings, index: int) -> None:
    expected = json.loads((EXPECTED / "fraud_triple.json").read_text(encoding="utf-8"))["cases"][index]
    # The buyer asked for new keys: the refund clock starts only once the 退一赔三 offer is accepted.
    event = filed(category="merchant-fraud", amount_minor=expected["price_minor"]).model_copy(
        update={"demand": {"type": "reissue"}})
    publish(service_env, topics.intake_events, event)
    case = wait_case(client, event.ticket, headers=AGENT)
    assert "refund" not in {c["name"] for c in case["clocks"]}
    (remedy,) = case["remedies_offered"]
    assert (remedy["outcome"], remedy["refund"], remedy["compensation"]) == (
        "fraud_triple", expected["refund"], expected["compensation"])
    offer = act(client, case["ticket"], "propose_resolution", AGENT, resolution={"outcome": "fraud_triple"},
                reason="listing promised valid keys; none worked")
    assert offer.status_code == 200, offer.text
    body = offer.json()["offer"]
    assert (body["refund"], body["compensation"], body["compensation_basis"]) == (
        expected["refund"], expected["compensation"], "fraud_triple")
    proposed = events(service_env, topics, case["complaint_id"], "ResolutionProposed")[0]
    assert (proposed["outcome"], proposed["refund"], proposed["compensation"]) == (
        "fraud_triple", expected["refund"], expected["compensation"])
    accepted = act(client, case["ticket"], "accept_resolution", BUYER).json()
    assert accepted["outcome"]["compensation"] == expected["compensation"]
    assert next(c for c in accepted["clocks"] if c["name"] == "refund")["status"] == "running"


def test_fraud_triple_is_for_fraud_and_found_counterfeit_only(
        client: TestClient, service_env: dict[str, str], topics: TopicSettings) -> None:
    late = open_case(client, service_env, topics, category="not-delivered", amount_minor=9900)
    assert late["remedies_offered"] == []
    refused = act(client, late["ticket"], "propose_resolution", AGENT, resolution={"outcome": "fraud_triple"})
    assert refused.status_code == 422 and refused.json()["errors"][0]["field"] == "resolution.outcome"
    keys = open_case(client, service_env, topics, category="invalid-card-key", amount_minor=9900)
    assert keys["remedies_offered"][0]["condition"] == "agent_finds_counterfeit"
    unfounded = act(client, keys["ticket"], "propose_resolution", AGENT, resolution={"outcome": "fraud_triple"})
    assert unfounded.status_code == 422 and unfounded.json()["errors"][0]["field"] == "resolution.reason"
    found = act(client, keys["ticket"], "propose_resolution", AGENT, resolution={
        "outcome": "fraud_triple", "reason": "the issuer says these keys were never issued: counterfeit"})
    assert found.status_code == 200 and found.json()["offer"]["compensation"] == _cny(50000)


def test_the_legal_tier_is_open_below_5000_cny_and_the_mark_only_raises_priority(
        client: TestClient, service_env: dict[str, str], topics: TopicSettings) -> None:
    small = open_case(client, service_env, topics, category="not-delivered", amount_minor=2900)
    assert "legal" in small["route"]["next_tiers"] and small["priority"] == "normal"
    moved = act(client, small["ticket"], "escalate", AGENT, reason="small claims court", target="legal")
    assert moved.status_code == 200, moved.text
    assert (moved.json()["state"], moved.json()["tier"]) == ("legal", "legal")
    large = open_case(client, service_env, topics, category="not-delivered", amount_minor=600000)
    assert large["priority"] == "high" and "legal" in large["route"]["next_tiers"]


def test_a_complainants_12315_filing_is_recorded_and_flagged_before_internal_handling_ended(
        client: TestClient, service_env: dict[str, str], topics: TopicSettings) -> None:
    case = open_case(client, service_env, topics, category="invalid-card-key")
    ticket = case["ticket"]
    recorded = act(client, ticket, "record_external_filing", BUYER, reference="12315-2026-000777",
                   reason="filed with 12315 myself")
    assert recorded.status_code == 200, recorded.text
    body = recorded.json()
    assert (body["state"], body["tier"]) == ("acknowledged", "internal")  # internal handling goes on
    (filing,) = body["external_filings"]
    assert (filing["reference"], filing["by"], filing["before_internal_ended"]) == (
        "12315-2026-000777", "complainant", True)
    assert body["history"][-1]["before_internal_ended"] is True
    assert body["external_references"] == ["12315-2026-000777"]
    # The agent's own escalation to an external body stays guarded.
    guarded = act(client, ticket, "escalate", AGENT, reason="no answer", target="external")
    assert guarded.status_code == 409 and guarded.json()["rule"] == "tier_guard"


def test_a_virtual_goods_no_7_day_return_refusal_is_recognised_as_a_failed_internal_answer(
        client: TestClient, service_env: dict[str, str], topics: TopicSettings) -> None:
    case = open_case(client, service_env, topics, category="invalid-card-key")
    ticket, cid = case["ticket"], case["complaint_id"]
    publish(service_env, topics.intake_events, ComplaintUpdated(
        complaint_id=cid, ticket=ticket, change="statement_added",
        detail={"number": 1, "text": "客服回复：虚拟商品不支持七天无理由退货，所以不能退款"}))
    seen = wait_view(client, ticket, lambda v: v["refusals"], "the refusal on the case")
    assert seen["refusals"][0]["ground"] == "no_7day_return_virtual_goods"
    told = [c for c in events(service_env, topics, cid, "ComplaintStatusChanged", n=2)
            if c["reason"] == "refusal_no_7day_return_not_a_ground"]
    assert told and told[0]["to_state"] == "acknowledged"
    # It counts as the refusal record the external guard asks for.
    out = act(client, ticket, "escalate", AGENT, reason="merchant refused on no ground", target="external")
    assert out.status_code == 200, out.text
    english = open_case(client, service_env, topics, category="not-delivered")
    act(client, english["ticket"], "forward_to_merchant", AGENT)
    answer = act(client, english["ticket"], "merchant_response", MERCHANT, decision="contest",
                 reason="Virtual goods are not eligible for 7-day no-reason returns.")
    assert answer.status_code == 200, answer.text
    assert answer.json()["refusals"][0]["by"] == "merchant"
    plain = open_case(client, service_env, topics, category="data-leak")
    ids = {"complaint_id": plain["complaint_id"], "ticket": plain["ticket"]}
    # The withdrawal after it, on the same key, is applied after the statement: then look.
    publish(service_env, topics.intake_events,
            ComplaintUpdated(**ids, change="statement_added",
                             detail={"number": 1, "text": "虚拟商品不支持七天无理由退货"}),
            ComplaintWithdrawn(**ids, reason="done"))
    after = wait_case(client, plain["ticket"], headers=AGENT, state="withdrawn")
    assert after["refusals"] == []  # not a complaint about goods that do not work


def test_a_freeze_confirmed_by_the_partner_is_recorded_and_announced(
        client: TestClient, service_env: dict[str, str], topics: TopicSettings) -> None:
    case = open_case(client, service_env, topics, category="unauthorized-charge", channel="visa")
    ticket, cid = case["ticket"], case["complaint_id"]
    assert case["account_freeze"] == {"requested": True, "confirmed": False, "confirmed_at": None,
                                      "confirmed_by": None, "note": ""}
    assert act(client, ticket, "confirm_freeze", BUYER).status_code == 403
    confirmed = act(client, ticket, "confirm_freeze", PARTNER, reason="card frozen by the issuer")
    assert confirmed.status_code == 200, confirmed.text
    freeze = confirmed.json()["account_freeze"]
    assert (freeze["confirmed"], freeze["confirmed_by"]) == (True, "partner")
    assert confirmed.json()["account_freeze_confirmed_at"] == freeze["confirmed_at"]
    event = events(service_env, topics, cid, "AccountFreezeConfirmed")[0]
    assert (event["confirmed_by"], event["note"]) == ("partner", "card frozen by the issuer")
    again = act(client, ticket, "confirm_freeze", AGENT)
    assert again.status_code == 409
