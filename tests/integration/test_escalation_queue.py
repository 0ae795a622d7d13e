"""The work queue, GET /v1/cases, over real cases: filters, nearest due first, cursor pages, scope."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from pymongo import MongoClient

from tests.support.escalation_cases import escalation_client, filed, send, token, wait_case
from tests.support.suite import create_topics

pytestmark = pytest.mark.integration

AGENT, OTHER_AGENT = token(role="agent"), token(role="agent", subject="agent-9")
SHOP = token(role="merchant", subject="shop-2", merchant_id="m-2002")
BUYER = token(role="complainant", subject="u-3003")
ELSEWHERE = token(role="agent", platform="kamen-2")


@pytest.fixture(scope="module")
def client(service_env: dict[str, str]) -> Iterator[TestClient]:
    topics = create_topics(env=service_env)
    with escalation_client(env=service_env) as running:
        cases = [filed(category="invalid-card-key", merchant="m-1001"),
                 filed(category="not-delivered", merchant="m-2002", complainant="u-3003"),
                 filed(category="unauthorized-charge", merchant="m-1001"),
                 filed(category="refund-refused", merchant="m-2002")]
        send(bootstrap=service_env["KAFKA_BOOTSTRAP_SERVERS"], topic=topics.intake_events, events=cases)
        for case in cases:
            wait_case(running, case.ticket, headers=AGENT)
        mine, awaiting = cases[0].ticket, cases[3].ticket
        assert running.post(f"/v1/cases/{mine}/actions/assign", headers=AGENT, json={}).status_code == 200
        asked = running.post(f"/v1/cases/{awaiting}/actions/request_evidence", headers=OTHER_AGENT,
                             json={"items": ["channel_notice"]})
        assert asked.status_code == 200, asked.text
        running.cases = cases  # type: ignore[attr-defined]
        yield running


def _queue(client: TestClient, headers: dict[str, str], **params: object) -> dict:
    answer = client.get("/v1/cases", params=params, headers=headers)
    assert answer.status_code == 200, answer.text
    return answer.json()


def _due(row: dict) -> datetime:
    return datetime.fromisoformat(row["next_due_at"]) if row["next_due_at"] else datetime.max.replace(tzinfo=UTC)


def test_the_queue_lists_the_platforms_cases_nearest_due_clock_first(client: TestClient) -> None:
    page = _queue(client, AGENT)
    tickets = {c.ticket for c in client.cases}  # type: ignore[attr-defined]
    assert {r["ticket"] for r in page["items"]} == tickets and page["total"] == 4
    dues = [_due(r) for r in page["items"]]
    assert dues == sorted(dues)
    assert _queue(client, ELSEWHERE)["items"] == []


def test_unassigned_mine_and_an_agents_queue_follow_the_assign_action(client: TestClient) -> None:
    mine = client.cases[0].ticket  # type: ignore[attr-defined]
    assert [r["ticket"] for r in _queue(client, AGENT, assignee="me")["items"]] == [mine]
    unassigned = _queue(client, AGENT, assignee="none")
    assert mine not in {r["ticket"] for r in unassigned["items"]} and unassigned["total"] == 3
    assert [r["assigned_agent"] for r in _queue(client, AGENT, assignee="agent-7")["items"]] == ["agent-7"]


def test_waiting_on_the_complainant_is_a_state_filter_that_takes_several_states(client: TestClient) -> None:
    waiting = _queue(client, AGENT, state=["awaiting_evidence", "resolution_proposed"])
    assert [r["ticket"] for r in waiting["items"]] == [client.cases[3].ticket]  # type: ignore[attr-defined]
    assert waiting["items"][0]["state"] == "awaiting_evidence"


def test_filters_by_merchant_category_tier_and_due_before(client: TestClient) -> None:
    assert {r["merchant_id"] for r in _queue(client, AGENT, merchant="m-2002")["items"]} == {"m-2002"}
    fraud = _queue(client, AGENT, category="unauthorized-charge")["items"]
    assert [r["ticket"] for r in fraud] == [client.cases[2].ticket]  # type: ignore[attr-defined]
    tier = fraud[0]["tier"]
    assert client.cases[2].ticket in {r["ticket"] for r in _queue(client, AGENT, tier=tier)["items"]}  # type: ignore[attr-defined]
    soon = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    later = (datetime.now(UTC) + timedelta(days=400)).isoformat()
    assert _queue(client, AGENT, due_before=soon)["total"] < _queue(client, AGENT, due_before=later)["total"]


def test_a_breached_clock_puts_the_case_in_the_breached_queue(client: TestClient,
                                                              service_env: dict[str, str]) -> None:
    ticket = client.cases[1].ticket  # type: ignore[attr-defined]
    assert _queue(client, AGENT, breached="true")["items"] == []
    with MongoClient(service_env["MONGODB_URI"], serverSelectionTimeoutMS=3000) as mongo:
        cases = mongo[service_env["ESCALATION_MONGODB_DB"]]["cases"]
        cases.update_one({"ticket": ticket}, {"$set": {"breached_clocks": ["first_response"]}})
        try:
            assert [r["ticket"] for r in _queue(client, AGENT, breached="true")["items"]] == [ticket]
            assert ticket not in {r["ticket"] for r in _queue(client, AGENT, breached="false")["items"]}
        finally:
            cases.update_one({"ticket": ticket}, {"$set": {"breached_clocks": []}})


def test_pages_follow_the_cursor_without_repeats_or_gaps(client: TestClient) -> None:
    seen, cursor = [], None
    while True:
        page = _queue(client, AGENT, limit=1, **({"cursor": cursor} if cursor else {}))
        seen += [r["ticket"] for r in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == [r["ticket"] for r in _queue(client, AGENT)["items"]]


def test_merchants_and_complainants_see_only_their_own_cases(client: TestClient) -> None:
    assert {r["merchant_id"] for r in _queue(client, SHOP)["items"]} == {"m-2002"}
    assert [r["ticket"] for r in _queue(client, BUYER)["items"]] == [client.cases[1].ticket]  # type: ignore[attr-defined]


def test_a_bad_filter_is_refused_naming_the_field(client: TestClient) -> None:
    for params, field in (({"state": "lost"}, "state"), ({"cursor": "xyz"}, "cursor"), ({"sort": "x"}, "sort")):
        answer = client.get("/v1/cases", params=params, headers=AGENT)
        assert answer.status_code == 422, answer.text
        assert field in answer.text
