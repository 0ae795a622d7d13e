"""One error shape on every service: RFC 9457 problem details (application/problem+json) with the
English and Chinese detail, the request path as `instance`, and the refused fields under `errors`."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from tests.support.evidence_harness import image_bytes
from tests.support.intake_calls import body as complaint_body
from tests.support.partner_http import assert_problem, bearer, running_services
from tests.support.waiting import wait_until

pytestmark = pytest.mark.integration

PLATFORM = "kameng-example"
COMPLAINANT = bearer("u-10086", "complainant")
AGENT = bearer("agent-7", "agent")
PARTNER = bearer("partner-1", "partner")
OTHER_PLATFORM_AGENT = bearer("agent-9", "agent", platform="other-platform")


@pytest.fixture(scope="module")
def clients(service_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, httpx.Client]]:
    with running_services(env=service_env, log_dir=tmp_path_factory.mktemp("logs")) as running:
        yield running


@pytest.fixture(scope="module")
def ticket(clients: dict[str, httpx.Client]) -> str:
    """A complaint of the platform, filed by its complainant, known to evidence."""
    filed = clients["intake"].post("/v1/complaints", json=complaint_body(), headers=COMPLAINANT)
    assert filed.status_code == 201, filed.text
    number = filed.json()["ticket"]
    wait_until(lambda: clients["evidence"].get(f"/v1/complaints/{number}/evidence-file",
                                               headers=COMPLAINANT).status_code == 200,
               timeout=60, what="evidence to open the complaint's file")
    return number


def _fields(problem: dict[str, Any]) -> list[tuple[str, str]]:
    return [(e["field"], e["rule"]) for e in problem["errors"]]


def test_a_bad_body_is_422_with_each_field_and_rule_on_every_service(clients: dict[str, httpx.Client]) -> None:
    intake = assert_problem(clients["intake"].post(
        "/v1/complaints", json=complaint_body(**{"order.amount": 0}), headers=COMPLAINANT), 422)
    assert ("order.amount", "gt") in _fields(intake)
    evidence = assert_problem(clients["evidence"].post("/v1/payment-records", json={}, headers=PARTNER), 422)
    assert evidence["errors"] and all(e["rule"] == "missing" for e in evidence["errors"])
    escalation = assert_problem(clients["escalation"].post(
        "/v1/cases/CP-20261123-000001/actions/fly", json={}, headers=AGENT), 422)
    assert [f for f, _ in _fields(escalation)] == ["action"]
    notify = assert_problem(clients["notify"].put("/v1/preferences", json={"email": "not-an-address"},
                                                  headers=COMPLAINANT), 422)
    assert _fields(notify) == [("email", "string_pattern_mismatch")]
    for problem in (intake, evidence, escalation, notify):
        assert all(e["message_en"] and e["message_zh"] for e in problem["errors"])


@pytest.mark.parametrize(("service", "path"), [
    ("intake", "/v1/complaints"), ("evidence", "/v1/complaints/CP-20261123-000001/evidence-file"),
    ("escalation", "/v1/analytics/sla"), ("notify", "/v1/inbox")])
def test_no_token_is_401_with_the_reason_on_every_service(clients: dict[str, httpx.Client], service: str,
                                                           path: str) -> None:
    missing = assert_problem(clients[service].get(path), 401)
    assert missing["reason"] == "missing"
    forged = clients[service].get(path, headers={"Authorization": "Bearer not.a.token"})
    assert assert_problem(forged, 401)["reason"] in ("malformed", "invalid_signature")
    assert "Bearer" in forged.headers["www-authenticate"]


def test_another_platforms_ticket_is_404_on_every_service(clients: dict[str, httpx.Client], ticket: str) -> None:
    for service, path in (("intake", f"/v1/complaints/{ticket}"),
                          ("evidence", f"/v1/complaints/{ticket}/evidence-file"),
                          ("escalation", f"/v1/cases/{ticket}")):
        answer = clients[service].get(path, headers=OTHER_PLATFORM_AGENT)
        assert_problem(answer, 404)
    assert clients["intake"].get(f"/v1/complaints/{ticket}", headers=AGENT).status_code == 200
    assert_problem(clients["notify"].get("/v1/subscriptions/no-such-id", headers=PARTNER), 404)


def test_not_permitted_is_403_on_every_service(clients: dict[str, httpx.Client]) -> None:
    someone_else = bearer("u-20000", "complainant")
    intake = assert_problem(clients["intake"].post("/v1/complaints", json=complaint_body(), headers=someone_else), 403)
    assert intake["rule"] == "not_allowed"
    assert_problem(clients["escalation"].get("/v1/analytics/sla", headers=COMPLAINANT), 403)
    assert_problem(clients["notify"].get("/v1/subscriptions", headers=COMPLAINANT), 403)
    record = {"source": "alipay", "transaction_id": "T-1", "order_number": "KM-1",
              "amount": {"amount_minor": 100, "currency": "CNY"}, "status": "paid", "at": "2026-11-20T13:15:00Z"}
    evidence = assert_problem(clients["evidence"].post("/v1/payment-records", json=record, headers=COMPLAINANT), 403)
    assert _fields(evidence) == [("role", "partner_or_agent")]


def test_a_change_to_a_closed_complaint_is_409(clients: dict[str, httpx.Client]) -> None:
    filed = clients["intake"].post("/v1/complaints", json=complaint_body(**{"order.number": "KM-409"}),
                                   headers=COMPLAINANT)
    assert filed.status_code == 201, filed.text
    number = filed.json()["ticket"]
    withdrawn = clients["intake"].post(f"/v1/complaints/{number}/withdraw", headers=COMPLAINANT,
                                       json={"reason": "商家已退款", "code": "resolved-by-merchant"})
    assert withdrawn.status_code == 200, withdrawn.text
    late = assert_problem(clients["intake"].post(f"/v1/complaints/{number}/statements", headers=COMPLAINANT,
                                                 json={"text": "还有一句"}), 409)
    assert late["rule"] == "not_open" and late["type"].endswith("not_open")


def test_evidence_refusals_413_415_400_and_503_are_problem_details(clients: dict[str, httpx.Client],
                                                                   ticket: str) -> None:
    evidence = clients["evidence"]
    path = f"/v1/complaints/{ticket}/evidence"
    text_as_image = evidence.post(path, headers=COMPLAINANT, data={"kind": "other", "fields": "{}"},
                                  files={"file": ("a.png", b"MZ\x90\x00" + bytes(4000), "image/png")})  # a program
    assert assert_problem(text_as_image, 415)["errors"][0]["field"] == "file"
    unparsable = evidence.post(path, headers={**COMPLAINANT, "Content-Type": "multipart/form-data"},
                               content=b"garbage")
    assert_problem(unparsable, 400)
    stored = evidence.post(path, headers=COMPLAINANT, data={"kind": "other", "fields": "{}"},
                           files={"file": ("a.png", image_bytes(seed=2323), "image/png")})
    assert stored.status_code in (200, 201), stored.text
    no_issuer = evidence.post(f"{path}/{stored.json()['evidence_id']}/card-key-check", headers=COMPLAINANT,
                              json={"card_key": "ABCD-EFGH-IJKL"})
    assert assert_problem(no_issuer, 503)["rule"] == "issuer_not_configured"
    assert int(no_issuer.headers["retry-after"]) > 0
    status, headers, raw = _declared_too_large(str(evidence.base_url), path)
    assert status == 413 and headers["content-type"] == "application/problem+json"
    problem = json.loads(raw)
    assert (problem["status"], problem["rule"], problem["instance"]) == (413, "max_file_size", path)
    assert problem["errors"][0]["field"] == "file" and problem["detail_zh"]


def _declared_too_large(base: str, path: str) -> tuple[int, dict[str, str], bytes]:
    """POST headers declaring 50 MB and no body: the service must answer before reading any."""
    where = urlsplit(base)
    token = COMPLAINANT["Authorization"]
    with socket.create_connection((where.hostname, where.port), timeout=10) as conn:
        conn.sendall((f"POST {path} HTTP/1.1\r\nHost: {where.netloc}\r\nAuthorization: {token}\r\n"
                      f"Content-Type: multipart/form-data; boundary=x\r\nContent-Length: {50 * 1024 * 1024}\r\n"
                      "\r\n--x\r\n").encode())
        data = b""
        while b"\r\n\r\n" not in data or len(data.split(b"\r\n\r\n", 1)[1]) < _length(data):
            chunk = conn.recv(65536)
            if not chunk:
                break
            data += chunk
    head, raw = data.split(b"\r\n\r\n", 1)
    lines = head.decode("latin-1").split("\r\n")
    headers = {k.strip().lower(): v.strip() for k, v in (line.split(":", 1) for line in lines[1:])}
    return int(lines[0].split()[1]), headers, raw


def _length(data: bytes) -> int:
    head = data.split(b"\r\n\r\n", 1)[0].decode("latin-1").lower()
    for line in head.split("\r\n"):
        if line.startswith("content-length:"):
            return int(line.split(":", 1)[1])
    return 0


@pytest.mark.parametrize(("service", "path", "headers"), [
    ("intake", "/v1/complaints", AGENT), ("escalation", "/v1/analytics/complaints", AGENT),
    ("escalation", "/v1/analytics/sla", AGENT), ("notify", "/v1/inbox", COMPLAINANT),
    ("notify", "/v1/subscriptions/any/deliveries", PARTNER)])
def test_an_unknown_query_parameter_is_refused_alike_on_every_service(
        clients: dict[str, httpx.Client], service: str, path: str, headers: dict[str, str]) -> None:
    answer = clients[service].get(path, params={"colour": "red"}, headers=headers)
    problem = assert_problem(answer, 422)
    assert _fields(problem) == [("colour", "unknown_parameter")]
    assert "colour" in problem["detail"] and "colour" in problem["errors"][0]["message_zh"]
    assert problem["type"].endswith("unknown_parameter")
    assert clients[service].get(path, headers=headers).status_code != 422  # the same call without it
