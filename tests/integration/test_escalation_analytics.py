"""Analytics over real cases: hot spots by merchant, category and product, SLA attainment, resolution time."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from pymongo import MongoClient

from tests.support.escalation_cases import (
    FAST_POLICY,
    escalation_client,
    filed,
    send,
    token,
    wait_case,
)
from tests.support.suite import create_topics

pytestmark = pytest.mark.integration

AGENT = token(role="agent")


@pytest.fixture(scope="module")
def client(service_env: dict[str, str]) -> Iterator[TestClient]:
    topics = create_topics(env=service_env)
    with escalation_client(env=service_env, policy=FAST_POLICY) as running:
        cases = [filed(category="invalid-card-key", merchant="m-1001"),
                 filed(category="invalid-card-key", merchant="m-1001"),
                 filed(category="not-delivered", merchant="m-1001", item="Steam 充值卡"),
                 filed(category="refund-refused", merchant="m-2002", item="Steam 充值卡")]
        send(bootstrap=service_env["KAFKA_BOOTSTRAP_SERVERS"], topic=topics.intake_events, events=cases)
        resolved, breached, *answered = [c.ticket for c in cases]
        for ticket in [resolved, *answered]:
            wait_case(running, ticket, headers=AGENT)
            assert running.post(f"/v1/cases/{ticket}/actions/respond", headers=AGENT).status_code == 200
        done = running.post(f"/v1/cases/{resolved}/actions/resolve", headers=AGENT,
                            json={"resolution": {"outcome": "refund"}})
        assert done.status_code == 200, done.text
        wait_case(running, breached, headers=AGENT, state="platform_arbitration")
        yield running


def test_complaints_are_counted_by_merchant_category_and_product(client: TestClient) -> None:
    by_merchant = client.get("/v1/analytics/complaints", params={"group_by": "merchant"}, headers=AGENT).json()
    assert [(r["merchant"], r["complaints"], r["open"]) for r in by_merchant["items"]] == [
        ("m-1001", 3, 2), ("m-2002", 1, 1)]
    by_category = client.get("/v1/analytics/complaints", headers=AGENT).json()["items"]
    assert by_category[0] == {"category": "invalid-card-key", "complaints": 2, "open": 1}
    by_product = client.get("/v1/analytics/complaints", params={"group_by": "product"}, headers=AGENT).json()
    assert {r["product"]: r["complaints"] for r in by_product["items"]} == {"100元游戏点卡": 2, "Steam 充值卡": 2}


def test_cases_stored_with_the_old_underscore_category_count_with_the_shared_spelling(
        client: TestClient, service_env: dict[str, str]) -> None:
    with MongoClient(service_env["MONGODB_URI"], serverSelectionTimeoutMS=3000) as mongo:
        cases = mongo[service_env["ESCALATION_MONGODB_DB"]]["cases"]
        old = cases.find_one({"category": "invalid-card-key"}, {"_id": 1})
        cases.update_one({"_id": old["_id"]}, {"$set": {"category": "invalid_card_key"}})
        try:
            by_category = client.get("/v1/analytics/complaints", headers=AGENT).json()["items"]
            assert by_category[0] == {"category": "invalid-card-key", "complaints": 2, "open": 1}
            assert len({r["category"] for r in by_category}) == len(by_category)
        finally:
            cases.update_one({"_id": old["_id"]}, {"$set": {"category": "invalid-card-key"}})


def test_sla_attainment_resolution_time_and_hot_merchants(client: TestClient) -> None:
    sla = {r["clock"]: r for r in client.get("/v1/analytics/sla", headers=AGENT).json()["clocks"]}
    first = sla["first_response"]
    assert (first["started"], first["met"], first["breached"]) == (4, 3, 1)
    assert first["attainment"] == 0.75
    times = client.get("/v1/analytics/resolution-time", headers=AGENT).json()
    assert times["resolved"] == 1 and times["median_hours"] is not None and times["p90_hours"] >= times["median_hours"]
    hot = client.get("/v1/analytics/hot-merchants", params={"by": "breached"}, headers=AGENT).json()["items"]
    assert (hot[0]["merchant_id"], hot[0]["breached_clocks"], hot[0]["open"]) == ("m-1001", 1, 2)


def test_analytics_are_for_platform_staff_only(client: TestClient) -> None:
    buyer = token(role="complainant", subject="u-2001")
    assert client.get("/v1/analytics/sla", headers=buyer).status_code == 403
    other_platform = token(role="agent", platform="another-shop")
    assert client.get("/v1/analytics/complaints", headers=other_platform).json()["items"] == []
    bad = client.get("/v1/analytics/sla", params={"since": "2026-12-01T00:00:00Z", "until": "2026-11-01T00:00:00Z"},
                     headers=AGENT)
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "since"
