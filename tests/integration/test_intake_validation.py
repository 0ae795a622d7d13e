"""Bad input answers 422 naming the field and the rule, in both languages, and stores nothing."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from tests.support.intake_calls import DATA, body, running_intake, token
from tests.support.samples import put
from tests.support.suite import create_topics

pytestmark = pytest.mark.integration

CASES = json.loads((DATA / "invalid_cases.json").read_text(encoding="utf-8"))
OWNER = token("u-10086", "complainant", platform="kameng-example")
AGENT = token("agent-1", "agent", platform="kameng-example")


@pytest.fixture(scope="module")
def intake(service_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> Iterator[httpx.Client]:
    create_topics(env=service_env)
    with running_intake(env=service_env, log_dir=tmp_path_factory.mktemp("logs")) as client:
        yield client


def bad_body(case: dict[str, Any]) -> dict[str, Any]:
    sent = body(**{"order.number": "KM-BAD-1"})
    for dotted, value in case.get("set", {}).items():
        if case["rule"] == "not_future":
            value = (datetime.now(UTC) + timedelta(days=2)).isoformat()
        put(sent, dotted, value)
    for dotted, (text, times) in case.get("repeat", {}).items():
        put(sent, dotted, text * times)
    for key in case.get("delete", []):
        del sent[key]
    return sent


@pytest.mark.parametrize("case", CASES, ids=lambda case: case["name"])
def test_each_bad_input_names_its_field_and_rule(intake: httpx.Client, case: dict[str, Any]) -> None:
    response = intake.post("/v1/complaints", json=bad_body(case), headers=OWNER)
    assert response.status_code == 422, response.text
    errors = response.json()["errors"]
    assert (case["field"], case["rule"]) in [(e["field"], e["rule"]) for e in errors]
    assert all(e["message_en"] and e["message_zh"] and e["message_en"] != e["message_zh"] for e in errors)
    assert "13812345678" not in response.text  # input values are never echoed


def test_nothing_is_half_written_after_a_refusal(intake: httpx.Client) -> None:
    items = intake.get("/v1/complaints", headers=AGENT).json()["items"]
    assert [c for c in items if c["order"]["number"] == "KM-BAD-1"] == []


def test_a_vague_demand_is_refused_with_guidance_in_both_languages(intake: httpx.Client) -> None:
    response = intake.post("/v1/complaints", json=body(demand="给我一个说法"), headers=OWNER)
    (error,) = response.json()["errors"]
    assert (error["field"], error["rule"]) == ("demand", "actionable_demand")
    assert "reissue 2 valid keys" in error["message_en"] and "补发 2 张有效卡密" in error["message_zh"]


@pytest.mark.parametrize(("params", "field", "rule"), [
    ({"status": '{"$ne": null}'}, "status", "enum"),
    ({"status[$ne]": "withdrawn"}, "status[$ne]", "unknown_parameter"),
    ({"$where": "sleep(1000)"}, "$where", "unknown_parameter"),
    ({"platform": "$where"}, "platform", "pattern"),
    ({"merchant": '{"$gt": ""}'}, "merchant", "pattern"),
    ({"category": "bad-vibes"}, "category", "enum"),
    ({"filed_from": "2026-11-20T00:00:00"}, "filed_from", "timezone_aware"),
    ({"cursor": "eyIkd2hlcmUiOiAiMSJ9"}, "cursor", "cursor"),
    ({"limit": "0"}, "limit", "ge"),
], ids=["operator-in-status", "operator-in-name", "where-parameter", "where-in-platform", "operator-in-merchant",
        "unknown-category", "naive-date", "forged-cursor", "limit-zero"])
def test_query_parameters_cannot_smuggle_operators(intake: httpx.Client, params: dict[str, str],
                                                   field: str, rule: str) -> None:
    response = intake.get("/v1/complaints", params=params, headers=AGENT)
    assert response.status_code == 422, response.text
    assert (field, rule) in [(e["field"], e["rule"]) for e in response.json()["errors"]]


def test_a_malformed_ticket_is_refused_before_any_lookup(intake: httpx.Client) -> None:
    response = intake.get("/v1/complaints/CP-1' || '1", headers=AGENT)
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "ticket"


def test_filters_and_pages_walk_every_matching_complaint_once(intake: httpx.Client) -> None:
    numbers = {f"KM-PAGE-{n}" for n in range(5)}
    for number in numbers:
        assert intake.post("/v1/complaints", json=body(**{"order.number": number, "category": "refund-refused"}),
                           headers=OWNER).status_code == 201
    seen: list[str] = []
    cursor: str | None = None
    while True:
        params = {"category": "refund-refused", "status": "filed", "limit": "2",
                  "filed_from": (datetime.now(UTC) - timedelta(hours=1)).isoformat()}
        page = intake.get("/v1/complaints", params=params | ({"cursor": cursor} if cursor else {}),
                          headers=AGENT).json()
        seen += [c["order"]["number"] for c in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert sorted(seen) == sorted(numbers)
    later = intake.get("/v1/complaints", params={"category": "refund-refused",
                                                 "filed_to": "2026-01-01T00:00:00Z"}, headers=AGENT)
    assert later.json()["items"] == []
