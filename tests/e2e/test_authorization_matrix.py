"""Authorization matrix: every role that should not see a complaint × every endpoint of the four
services. Outsiders get 401/403/404 (or an empty listing) and never a byte of the complaint."""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest

from shared.auth import mint_token
from shared.runtime.supervisor import ServiceProcess
from shared.settings import ServiceSettings
from tests.support.intake_calls import body, token
from tests.support.waiting import wait_until

pytestmark = pytest.mark.e2e

COMPLAINT = body(**{"order.number": "MATRIX-ORDER-77", "complainant.id": "u-matrix-owner"})
PLATFORM, MERCHANT = COMPLAINT["platform"], COMPLAINT["merchant"]["id"]
SECRET = ServiceSettings().auth_secret
PRIVATE = ("MATRIX-ORDER-77", "u-matrix-owner")


def bearer(raw: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {raw}"}


OUTSIDERS: dict[str, dict[str, str]] = {
    "other complainant": token("u-someone-else", "complainant", platform=PLATFORM),
    "other merchant": token("shop-9", "merchant", platform=PLATFORM, merchant_id="m-other"),
    "agent of another platform": token("agent-x", "agent", platform="other-platform"),
    "partner of another platform": token("partner-x", "partner", platform="other-platform"),
    "no token": {},
    "expired token": bearer(mint_token(secret=SECRET, subject="u-matrix-owner", role="complainant",
                                       platform=PLATFORM, ttl=timedelta(seconds=-120))),
    "forged token": bearer(jwt.encode({"sub": "u-matrix-owner", "role": "agent", "platform": PLATFORM,
                                       "iss": "complaints-intake", "aud": "complaints", "iat": 1,
                                       "exp": 4102444800}, "x" * 40, algorithm="HS256")),
}
UNAUTHENTICATED = {"no token", "expired token", "forged token"}


@pytest.fixture(scope="module")
def ids(suite: dict[str, ServiceProcess]) -> dict[str, str]:
    owner = token("u-matrix-owner", "complainant", platform=PLATFORM)
    partner = token("partner-p", "partner", platform=PLATFORM)
    filed = httpx.post(f"{suite['intake'].url}/v1/complaints", json=COMPLAINT, headers=owner, timeout=10)
    assert filed.status_code == 201, filed.text
    ticket = filed.json()["ticket"]
    evidence_url = f"{suite['evidence'].url}/v1/complaints/{ticket}/evidence"
    wait_until(lambda: httpx.get(f"{evidence_url}-file", headers=owner, timeout=10).status_code == 200,
               timeout=60, what="the evidence file")
    item = httpx.post(evidence_url, headers=owner, timeout=20, files={"file": ("c.txt", b"chat log", "text/plain")},
                      data={"kind": "communication_log",
                            "fields": '{"contacted_at": "2026-11-22T10:00:00Z", "agent_id": "cs-1"}'})
    assert item.status_code == 201, item.text
    inbox = wait_until(lambda: httpx.get(f"{suite['notify'].url}/v1/inbox", headers=owner, timeout=10)
                       .json()["items"], timeout=60, what="the owner's acknowledgement")
    subscription = httpx.post(f"{suite['notify'].url}/v1/subscriptions", headers=partner, timeout=10,
                              json={"url": "http://127.0.0.1:9/hook", "event_types": []})
    assert subscription.status_code == 201, subscription.text
    hooks = f"{suite['notify'].url}/v1/subscriptions/{subscription.json()['id']}"
    ping = httpx.post(f"{hooks}/test", headers=partner, timeout=30)  # nothing listens: a failed delivery, logged
    assert ping.status_code == 502, ping.text
    logged = {d["id"] for d in httpx.get(f"{hooks}/deliveries", headers=partner, timeout=10).json()["items"]}
    assert ping.json()["delivery_id"] in logged  # the complaint's own events may be logged beside it
    wait_until(lambda: httpx.get(f"{suite['escalation'].url}/v1/cases/{ticket}", headers=owner,
                                 timeout=10).status_code == 200, timeout=60, what="the case")
    return {"ticket": ticket, "evidence_id": item.json()["evidence_id"], "notification_id": inbox[0]["id"],
            "subscription_id": subscription.json()["id"], "delivery_id": ping.json()["delivery_id"],
            "action": "respond"}


BODIES = json.loads((Path(__file__).parents[1] / "data" / "authorization" / "bodies.json").read_text("utf-8"))
ACTIONS = sorted(BODIES["actions"])
# Roles that hold a token but not this complaint: each refusal must be the scope check's own 404.
SCOPED_OUTSIDERS = ("other complainant", "other merchant", "agent of another platform", "partner of another platform")


def role_refusal(role: str, route: str) -> bool:
    """A refusal for the role alone, before any record is looked at (403): webhooks are the partner's."""
    return " /v1/subscriptions/" in route and role != "partner of another platform"


def endpoints(suite: dict[str, ServiceProcess]) -> list[tuple[str, str, str, str, dict[str, Any]]]:
    """(service, method, path template, url, operation) for every route but the operational ones."""
    found = []
    for name, svc in suite.items():
        schema = httpx.get(f"{svc.url}/openapi.json", timeout=10).json()
        for path, operations in schema["paths"].items():
            if path in ("/healthz", "/readyz", "/metrics", "/asyncapi.json") or path.startswith("/schemas"):
                continue  # operational, or public documents (the public events' schemas) for anyone
            for method, operation in operations.items():
                found.append((name, method.upper(), path, svc.url, operation))
    return found


def valid_body(method: str, template: str, operation: dict[str, Any], action: str) -> dict[str, Any]:
    """httpx keyword arguments carrying a body the route accepts: its OpenAPI example, else tests/data."""
    if method not in ("POST", "PUT", "PATCH"):
        return {}
    if template.endswith("/evidence"):
        return {"files": {"file": ("chat.txt", "客服聊天记录 2026-11-22".encode(), "text/plain")},
                "data": {"kind": "communication_log",
                         "fields": '{"contacted_at": "2026-11-22T10:00:00Z", "agent_id": "cs-2"}'}}
    if "{action}" in template:
        return {"json": BODIES["actions"][action]}
    content = operation.get("requestBody", {}).get("content", {}).get("application/json", {})
    if examples := content.get("examples"):
        return {"json": next(iter(examples.values()))["value"]}
    key = f"{method} {template}"
    return {"json": BODIES[key]} if key in BODIES else {}


def calls(suite: dict[str, ServiceProcess], ids: dict[str, str]) -> Iterator[tuple[str, str, str, dict[str, Any]]]:
    """(METHOD path, method, url, body kwargs) for every route, every escalation action by name."""
    for _service, method, template, base, operation in endpoints(suite):
        for action in ACTIONS if "{action}" in template else [ids["action"]]:
            url = base + template.format(**{**ids, "action": action})
            yield f"{method} {template.replace('{action}', action)}", method, url, valid_body(
                method, template, operation, action)


def test_no_outsider_sees_or_changes_the_complaint(suite: dict[str, ServiceProcess], ids: dict[str, str]) -> None:
    routes = list(calls(suite, ids))
    assert len(routes) >= 45
    leaks: list[str] = []
    with httpx.Client(timeout=15) as http:  # connections kept alive across some 500 calls
        for (route, method, url, body), (role, headers) in itertools.product(routes, OUTSIDERS.items()):
            answer = http.request(method, url, headers=headers, **body)
            leaks += refusal_faults(role, route, method, answer, ticket=ids["ticket"])
    assert not leaks, "\n".join(leaks)


def refusal_faults(role: str, route: str, method: str, answer: httpx.Response, *, ticket: str) -> list[str]:
    """What is wrong with an outsider's answer: the wrong refusal, or any of the complaint shown or changed."""
    where, scoped, found = f"{role} {route} → {answer.status_code}", "{" in route, []
    if role in UNAUTHENTICATED and answer.status_code != 401:
        found.append(f"{where} (expected 401)")
    if scoped and role in SCOPED_OUTSIDERS:
        expected = 403 if role_refusal(role, route) else 404
        if answer.status_code == 422:  # the body was judged before the scope: a finding, not a pass
            found.append(f"{where}: validated before the scope check: {answer.text[:200]}")
        elif answer.status_code != expected:
            found.append(f"{where} (expected {expected}: the scope check's own refusal)")
    if any(p in answer.text for p in PRIVATE) or ticket in answer.text and answer.is_success:
        found.append(f"{where} shows the complaint: {answer.text[:200]}")
    elif answer.is_success and scoped and method != "GET":
        found.append(f"{where}: an outsider changed something")
    return found



INSIDERS = {"owner": token("u-matrix-owner", "complainant", platform=PLATFORM),
            "shop": token("shop-1", "merchant", platform=PLATFORM, merchant_id=MERCHANT),
            "agent": token("agent-7", "agent", platform=PLATFORM)}
# Who may see the complaint but not take this step: the refusal names the right (403), not the scope (404).
WITHOUT_THE_RIGHT = [("owner", "respond"), ("owner", "assign"), ("owner", "request_evidence"),
                     ("owner", "merchant_response"), ("owner", "propose_resolution"), ("owner", "resolve"),
                     ("owner", "confirm_freeze"), ("shop", "accept_resolution"), ("shop", "reject_resolution"),
                     ("shop", "withdraw"), ("shop", "escalate"), ("agent", "accept_resolution"),
                     ("agent", "merchant_response")]


@pytest.mark.parametrize(("who", "action"), WITHOUT_THE_RIGHT)
def test_an_insider_without_the_right_is_refused_403(suite: dict[str, ServiceProcess], ids: dict[str, str],
                                                     who: str, action: str) -> None:
    case_url = f"{suite['escalation'].url}/v1/cases/{ids['ticket']}"
    before = httpx.get(case_url, headers=INSIDERS["agent"], timeout=10).json()
    answer = httpx.post(f"{case_url}/actions/{action}", headers=INSIDERS[who], json=BODIES["actions"][action],
                        timeout=15)
    assert answer.status_code == 403, answer.text
    assert answer.headers["content-type"].startswith("application/problem+json")
    after = httpx.get(case_url, headers=INSIDERS["agent"], timeout=10).json()
    assert (after["state"], after["tier"]) == (before["state"], before["tier"])


def test_an_outsider_cannot_withdraw_upload_or_check_a_key_with_valid_bodies(
        suite: dict[str, ServiceProcess], ids: dict[str, str]) -> None:
    """The three steps a stranger would try on someone else's complaint, each with a body the owner could send."""
    stranger = OUTSIDERS["other complainant"]
    intake, evidence = suite["intake"].url, suite["evidence"].url
    ticket = ids["ticket"]
    withdrawal = httpx.post(f"{intake}/v1/complaints/{ticket}/withdraw", headers=stranger, timeout=15,
                            json={"reason": "已自行解决"})
    upload = httpx.post(f"{evidence}/v1/complaints/{ticket}/evidence", headers=stranger, timeout=15,
                        **valid_body("POST", "/v1/complaints/{ticket}/evidence", {}, ""))
    check = httpx.post(f"{evidence}/v1/complaints/{ticket}/evidence/{ids['evidence_id']}/card-key-check",
                       headers=stranger, timeout=15,
                       json=BODIES["POST /v1/complaints/{ticket}/evidence/{evidence_id}/card-key-check"])
    bad_check = httpx.post(f"{evidence}/v1/complaints/{ticket}/evidence/{ids['evidence_id']}/card-key-check",
                           headers=stranger, timeout=15, json={"card_key": ""})
    assert [withdrawal.status_code, upload.status_code, check.status_code, bad_check.status_code] == [404] * 4
    mine = httpx.get(f"{intake}/v1/complaints/{ticket}", headers=INSIDERS["owner"], timeout=10).json()
    assert mine["status"] != "withdrawn"
    listed = httpx.get(f"{evidence}/v1/complaints/{ticket}/evidence", headers=INSIDERS["owner"], timeout=10).json()
    assert [i["number"] for i in listed["items"]] == [1]
