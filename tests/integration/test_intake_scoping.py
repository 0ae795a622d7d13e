"""Who sees what: each role sees its own scope, everything else is 404; bad tokens are 401."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from shared.auth import mint_token
from tests.support.intake_calls import body, complainant_of, running_intake, token
from tests.support.suite import create_topics

pytestmark = pytest.mark.integration

PLATFORM = "kameng-example"
OWNER = token("u-10086", "complainant", platform=PLATFORM)
OTHER_BUYER = token("u-99999", "complainant", platform=PLATFORM)
MERCHANT = token("shop-staff-1", "merchant", platform=PLATFORM, merchant_id="m-2048")
OTHER_MERCHANT = token("shop-staff-2", "merchant", platform=PLATFORM, merchant_id="m-4096")
AGENT = token("agent-1", "agent", platform=PLATFORM)
FOREIGN_AGENT = token("agent-9", "agent", platform="another-market")
PARTNER = token("kameng-integration", "partner", platform=PLATFORM)
FOREIGN_PARTNER = token("other-integration", "partner", platform="another-market")


@pytest.fixture(scope="module")
def intake(service_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> Iterator[httpx.Client]:
    create_topics(env=service_env)
    with running_intake(env=service_env, log_dir=tmp_path_factory.mktemp("logs")) as client:
        yield client


@pytest.fixture(scope="module")
def filed(intake: httpx.Client) -> dict[str, Any]:
    complaint = body(**{"order.number": "KM-SCOPE-1"})
    response = intake.post("/v1/complaints", json=complaint, headers=OWNER)
    assert response.status_code == 201, response.text
    elsewhere = body(**{"order.number": "KM-SCOPE-2", "platform": "another-market"})
    assert intake.post("/v1/complaints", json=elsewhere, headers=complainant_of(elsewhere)).status_code == 201
    return response.json()


@pytest.mark.parametrize(("caller", "phone"), [
    (OWNER, "13812345678"), (MERCHANT, "138****5678"), (AGENT, "138****5678"), (PARTNER, "138****5678"),
], ids=["complainant", "merchant", "agent", "partner"])
def test_callers_in_scope_see_it_and_only_the_complainant_sees_the_contact(
    intake: httpx.Client, filed: dict[str, Any], caller: dict[str, str], phone: str
) -> None:
    response = intake.get(f"/v1/complaints/{filed['ticket']}", headers=caller)
    assert response.status_code == 200
    assert response.json()["complainant"]["contact"]["phone"] == phone
    assert intake.get(f"/v1/complaints/{filed['ticket']}/trace", headers=caller).status_code == 200


@pytest.mark.parametrize("caller", [OTHER_BUYER, OTHER_MERCHANT, FOREIGN_AGENT, FOREIGN_PARTNER],
                         ids=["other-complainant", "other-merchant", "agent-of-another-platform",
                              "partner-of-another-platform"])
def test_callers_outside_the_scope_get_404_as_if_it_did_not_exist(
    intake: httpx.Client, filed: dict[str, Any], caller: dict[str, str]
) -> None:
    for path in ("", "/trace"):
        assert intake.get(f"/v1/complaints/{filed['ticket']}{path}", headers=caller).status_code == 404
    assert intake.post(f"/v1/complaints/{filed['ticket']}/statements", json={"text": "我也要说"},
                       headers=caller).status_code == 404
    tickets = [c["ticket"] for c in intake.get("/v1/complaints", headers=caller).json()["items"]]
    assert filed["ticket"] not in tickets


def test_listings_hold_only_what_the_role_may_see(intake: httpx.Client, filed: dict[str, Any]) -> None:
    def platforms(caller: dict[str, str], **params: str) -> set[str]:
        return {c["platform"] for c in intake.get("/v1/complaints", params=params, headers=caller).json()["items"]}

    assert platforms(AGENT) == {PLATFORM}
    assert platforms(FOREIGN_AGENT) == {"another-market"}
    assert platforms(AGENT, platform="another-market") == set()  # a filter cannot widen the scope
    merchants = {c["merchant"]["id"] for c in intake.get("/v1/complaints", headers=MERCHANT).json()["items"]}
    assert merchants == {"m-2048"}
    listed = intake.get("/v1/complaints", headers=OWNER).json()["items"]
    assert {c["complainant"]["id"] for c in listed} == {"u-10086"}
    assert all("contact" not in c["complainant"] for c in listed)


def test_only_the_complainant_changes_it_and_only_an_agent_corrects_it(
    intake: httpx.Client, filed: dict[str, Any]
) -> None:
    ticket = filed["ticket"]
    assert intake.post(f"/v1/complaints/{ticket}/statements", json={"text": "商家代说"},
                       headers=MERCHANT).status_code == 403
    assert intake.post(f"/v1/complaints/{ticket}/withdraw", json={"reason": "代撤"},
                       headers=AGENT).status_code == 403
    assert intake.put(f"/v1/complaints/{ticket}/category", json={"category": "not-delivered"},
                      headers=OWNER).status_code == 403
    assert intake.put(f"/v1/complaints/{ticket}/category", json={"category": "not-delivered"},
                      headers=FOREIGN_AGENT).status_code == 404
    assert intake.post(f"/v1/complaints/{ticket}/statements", json={"text": "补充：客服仍未回复"},
                       headers=OWNER).status_code == 201


def test_nobody_files_for_someone_else(intake: httpx.Client) -> None:
    complaint = body(**{"order.number": "KM-SCOPE-3"})
    assert intake.post("/v1/complaints", json=complaint, headers=OTHER_BUYER).status_code == 403
    assert intake.post("/v1/complaints", json=complaint, headers=MERCHANT).status_code == 403
    assert intake.post("/v1/complaints", json=complaint, headers=FOREIGN_PARTNER).status_code == 403
    assert intake.post("/v1/complaints", json=complaint, headers=PARTNER).status_code == 201


@pytest.mark.parametrize(("headers", "reason"), [
    ({}, "missing"),
    ({"Authorization": "Bearer " + mint_token(secret="another-secret-another-secret-0000", subject="u-10086",
                                              role="complainant")}, "invalid_signature"),
    (token("u-10086", "complainant", now=datetime.now(UTC) - timedelta(hours=2)), "expired"),
    ({"Authorization": "Bearer not.a.jwt"}, "malformed"),
], ids=["no-token", "forged", "expired", "malformed"])
def test_without_a_valid_token_every_route_answers_401(
    intake: httpx.Client, filed: dict[str, Any], headers: dict[str, str], reason: str
) -> None:
    ticket = filed["ticket"]
    calls = [("GET", f"/v1/complaints/{ticket}", None), ("GET", "/v1/complaints", None),
             ("POST", "/v1/complaints", body(**{"order.number": "KM-SCOPE-4"})),
             ("POST", f"/v1/complaints/{ticket}/withdraw", {"reason": "x"})]
    for method, path, payload in calls:
        response = intake.request(method, path, json=payload, headers=headers)
        assert response.status_code == 401, (method, path)
        assert response.json()["reason"] == reason
        assert response.headers["content-type"] == "application/problem+json"
