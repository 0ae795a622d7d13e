"""Authorization matrix: every role that should not see a complaint × every endpoint of the four
services. Outsiders get 401/403/404 (or an empty listing) and never a byte of the complaint."""

from __future__ import annotations

from datetime import timedelta
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
    wait_until(lambda: httpx.get(f"{suite['escalation'].url}/v1/cases/{ticket}", headers=owner,
                                 timeout=10).status_code == 200, timeout=60, what="the case")
    return {"ticket": ticket, "evidence_id": item.json()["evidence_id"], "notification_id": inbox[0]["id"],
            "subscription_id": subscription.json()["id"], "delivery_id": "d-unknown", "action": "respond"}


def endpoints(suite: dict[str, ServiceProcess]) -> list[tuple[str, str, str, str]]:
    """(service, method, path template, url) for every route but the operational ones."""
    found = []
    for name, svc in suite.items():
        schema = httpx.get(f"{svc.url}/openapi.json", timeout=10).json()
        for path, operations in schema["paths"].items():
            if path in ("/healthz", "/readyz", "/asyncapi.json") or path.startswith("/schemas"):
                continue  # operational, or public documents (the public events' schemas) for anyone
            for method in operations:
                found.append((name, method.upper(), path, svc.url))
    return found


def test_no_outsider_sees_or_changes_the_complaint(suite: dict[str, ServiceProcess], ids: dict[str, str]) -> None:
    routes = endpoints(suite)
    assert len(routes) >= 30
    leaks: list[str] = []
    for service, method, template, base in routes:
        url = base + template.format(**ids)
        for role, headers in OUTSIDERS.items():
            kwargs: dict[str, Any] = {"headers": headers, "timeout": 15}
            if method in ("POST", "PUT"):
                kwargs["json"] = {}
            answer = httpx.request(method, url, **kwargs)
            where = f"{role} {method} {template} → {answer.status_code}"
            if role in UNAUTHENTICATED and answer.status_code != 401:
                leaks.append(f"{where} (expected 401)")
            if any(p in answer.text for p in PRIVATE) or ids["ticket"] in answer.text and answer.is_success:
                leaks.append(f"{where} shows the complaint: {answer.text[:200]}")
            elif answer.is_success and "{" in template and method != "GET":
                leaks.append(f"{where}: an outsider changed something")
    assert not leaks, "\n".join(leaks)
