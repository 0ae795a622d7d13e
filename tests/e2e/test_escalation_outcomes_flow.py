"""Escalation's outcomes end to end: intake, evidence and escalation as processes. A charged-no-order
refund refused until the channel's closing notice is uploaded; the automatic tier refunding on the
channel's own record with no agent."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest

from shared.auth import mint_token
from shared.runtime.supervisor import ServiceProcess
from shared.settings import ServiceSettings
from tests.support.evidence_harness import image_bytes
from tests.support.suite_cases import file_charged_no_order
from tests.support.waiting import wait_until

pytestmark = pytest.mark.e2e


def _auth(subject: str, role: str) -> dict[str, str]:
    minted = mint_token(secret=ServiceSettings().auth_secret, subject=subject, role=role, platform="kamen-1")
    return {"Authorization": f"Bearer {minted}"}


BUYER, PARTNER, AGENT = (_auth("u-2001", "complainant"), _auth("kamen-1-integration", "partner"),
                         _auth("agent-7", "agent"))


def _file(suite: dict[str, ServiceProcess]) -> tuple[dict[str, Any], str]:
    return file_charged_no_order(suite, partner=PARTNER, buyer=BUYER)


def _case(suite: dict[str, ServiceProcess], ticket: str, check, what: str) -> dict[str, Any]:
    def look() -> dict[str, Any] | None:
        r = httpx.get(f"{suite['escalation'].url}/v1/cases/{ticket}", headers=AGENT, timeout=10)
        return r.json() if r.status_code == 200 and check(r.json()) else None
    return wait_until(look, timeout=60, interval=0.3, what=what)


def _submit(suite: dict[str, ServiceProcess], ticket: str, seed: int, kind: str, fields: dict[str, Any]) -> None:
    answer = httpx.post(f"{suite['evidence'].url}/v1/complaints/{ticket}/evidence", headers=BUYER, timeout=30,
                        files={"file": ("shot.png", image_bytes(seed=seed))},
                        data={"kind": kind, "fields": json.dumps(fields)})
    assert answer.status_code == 201, answer.text


def _propose(suite: dict[str, ServiceProcess], ticket: str) -> httpx.Response:
    return httpx.post(f"{suite['escalation'].url}/v1/cases/{ticket}/actions/propose_resolution", headers=AGENT,
                      timeout=10, json={"resolution": {"outcome": "refund"}, "reason": "debit confirmed"})


def test_a_charged_no_order_refund_is_refused_until_the_channel_closing_notice_is_uploaded(
        suite: dict[str, ServiceProcess]) -> None:
    body, ticket = _file(suite)
    paid = datetime.fromisoformat(body["order"]["paid_at"])
    _case(suite, ticket, lambda c: c["tier"] == "automatic", "the case at the automatic tier")
    _submit(suite, ticket, 11, "order_record", {"order_number": body["order"]["number"], "status": "failed",
                                                 "item": body["order"]["item"], "ordered_at": paid.isoformat()})
    _submit(suite, ticket, 12, "payment_proof", {
        "channel": "alipay", "notice_type": "payment_page", "amount_minor": 10000, "currency": "CNY",
        "paid_at": paid.isoformat(), "transaction_id": body["order"]["transaction_id"]})
    _case(suite, ticket,
          lambda c: c["evidence"] and [m["field"] for m in c["evidence"]["missing"]] == ["channel_notice"],
          "escalation reading the assessment that lacks the channel notice")
    refused = _propose(suite, ticket)
    assert refused.status_code == 409, refused.text
    assert refused.json()["missing"] == ["channel_notice"]
    _submit(suite, ticket, 13, "payment_proof", {
        "channel": "alipay", "notice_type": "channel_closing_notice", "amount_minor": 10000, "currency": "CNY",
        "paid_at": (paid + timedelta(minutes=1)).isoformat(), "transaction_id": body["order"]["transaction_id"]})
    _case(suite, ticket, lambda c: c["evidence"]["missing"] == [], "escalation reading the complete assessment")
    allowed = _propose(suite, ticket)
    assert allowed.status_code == 200, allowed.text
    assert allowed.json()["offer"]["refund"] == {"amount_minor": 10000, "currency": "CNY"}


def test_the_channels_own_record_gets_a_full_refund_from_the_automatic_tier_with_no_agent(
        suite: dict[str, ServiceProcess]) -> None:
    body, ticket = _file(suite)
    paid = datetime.fromisoformat(body["order"]["paid_at"])
    _case(suite, ticket, lambda c: c["tier"] == "automatic", "the case at the automatic tier")
    posted = httpx.post(f"{suite['evidence'].url}/v1/payment-records", headers=PARTNER, timeout=10, json={
        "source": "alipay", "transaction_id": body["order"]["transaction_id"], "order_number": body["order"]["number"],
        "amount": {"amount_minor": 10000, "currency": "CNY"}, "status": "paid",
        "at": (paid + timedelta(seconds=2)).isoformat()})
    assert posted.status_code == 202, posted.text
    case = _case(suite, ticket, lambda c: c["state"] == "resolution_proposed", "the automatic tier's offer")
    assert (case["tier"], case["offer"]["outcome"], case["offer"]["refund"]) == (
        "automatic", "refund", {"amount_minor": 10000, "currency": "CNY"})
    assert {h["actor"] for h in case["history"]} == {"system"} and case["assigned_agent"] is None


def test_a_refund_on_a_file_with_nothing_uploaded_yet_is_refused_naming_what_is_missing(
        suite: dict[str, ServiceProcess]) -> None:
    """No upload, no assessment event yet: the file's first assessment (carried by its opening) gates
    the offer, so a case is never taken as complete before its evidence was read."""
    _body, ticket = _file(suite)
    case = _case(suite, ticket, lambda c: (c.get("evidence") or {}).get("missing"),
                 "the evidence file's first assessment on the case")
    assert {"order_record", "payment_proof"} <= {m["field"] if isinstance(m, dict) else m
                                                 for m in case["evidence"]["missing"]}
    refused = _propose(suite, ticket)
    assert refused.status_code == 409, refused.text
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert {"order_record", "payment_proof"} <= {e["field"] for e in refused.json()["errors"]}
