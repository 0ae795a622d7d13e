"""The console's pages over fake APIs: security headers, CSRF, cookies, escaping, allowed actions, links."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from services.console.adapters.apis import Apis
from services.console.config import ConsoleSettings
from services.console.main import create_app
from shared.auth import mint_token, verify_token
from shared.settings import ServiceSettings
from shared.status_link import sign_link

pytestmark = pytest.mark.unit
SECRET = ServiceSettings().auth_secret
TEMPLATES = Path(__file__).resolve().parents[2] / "services" / "console" / "templates"
AGENT = mint_token(secret=SECRET, subject="agent-7", role="agent", platform="kamen-1")
NASTY = '<script>alert("x")</script>'


def _case(state: str = "in_review", **extra: Any) -> dict[str, Any]:
    due = (datetime.now(UTC) + timedelta(hours=5)).isoformat()
    return {"ticket": "CP-20261207-000001", "complaint_id": "c" * 32, "state": state, "tier": "internal",
            "category": "invalid-card-key", "priority": "normal", "platform": "kamen-1", "merchant_id": NASTY,
            "assigned_agent": None, "clocks": [{"name": "first_response", "status": "running", "owner": "merchant",
                                                "due_at": due}],
            "must_act_now": [{"party": "agent", "action": "respond", "due_at": due, "clock": "first_response",
                              "overdue": False, "text_en": "Answer", "text_zh": "请答复"}],
            "allowed_next_states": ["awaiting_merchant", "awaiting_evidence", "resolution_proposed"],
            "requested_evidence": [], "evidence": None, "offer": None, "account_freeze": {}, "breached_clocks": [],
            "next_due_at": due, **extra}


class FakeApis:
    """The four APIs as one fake transport: canned answers, every call recorded."""

    def __init__(self) -> None:
        self.case = _case()
        self.calls: list[tuple[str, str, dict[str, str]]] = []
        self.queries: list[httpx.QueryParams] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.calls.append((request.method, request.url.path, dict(request.headers)))
        self.queries.append(request.url.params)
        path = request.url.path
        if path == "/v1/cases":
            return httpx.Response(200, json={"items": [self.case], "total": 1, "next_cursor": None})
        if path.endswith("/actions/escalate"):
            return httpx.Response(409, json={"type": "urn:x:tier_guard", "title": "Conflict", "status": 409,
                                             "detail": "platform needs a refusal record",
                                             "detail_zh": "升级到平台介入需要商家的拒绝记录", "rule": "tier_guard"})
        if "/actions/" in path:
            return httpx.Response(200, json=self.case)
        if path.startswith("/v1/cases/"):
            return httpx.Response(200, json=self.case)
        if path.endswith("/evidence"):
            return httpx.Response(200, json={"items": []})
        if path.startswith("/v1/complaints/") and path.count("/") == 3:
            return httpx.Response(200, json={"order": {"number": "1", "amount": 100, "currency": "CNY"},
                                             "description": {"what_happened": NASTY}, "demand": {"type": "refund"},
                                             "timeline": []})
        return httpx.Response(404, json={"title": "no"})


@pytest.fixture
def fake() -> FakeApis:
    return FakeApis()


def _client(fake: FakeApis, **settings: Any) -> Iterator[TestClient]:
    app = create_app(ConsoleSettings(**settings))
    app.state.apis = Apis(intake_url="http://intake", evidence_url="http://evidence",
                          escalation_url="http://escalation", notify_url="http://notify",
                          client=httpx.Client(transport=httpx.MockTransport(fake)))
    with TestClient(app) as client:
        yield client


@pytest.fixture
def client(fake: FakeApis) -> Iterator[TestClient]:
    yield from _client(fake)


def _csrf(page: str) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]


def _signed_in(client: TestClient) -> None:
    page = client.get("/signin").text
    answer = client.post("/signin", data={"token": AGENT, "csrf": _csrf(page)}, follow_redirects=False)
    assert answer.status_code == 303 and answer.headers["location"].startswith("/queues")


def test_every_page_carries_a_strict_content_security_policy(client: TestClient) -> None:
    _signed_in(client)
    for path in ("/signin", "/queues", "/cases/CP-20261207-000001", "/static/console.js"):
        policy = client.get(path).headers["content-security-policy"]
        assert "script-src 'self'" in policy and "default-src 'none'" in policy and "unsafe-inline" not in policy


def test_metrics_count_the_pages_served_by_route(client: TestClient) -> None:
    _signed_in(client)
    client.get("/queues")
    text = client.get("/metrics").text
    served = [line for line in text.splitlines() if line.startswith("http_server_duration_milliseconds_count")
              or line.startswith("http_server_request_duration_seconds_count")]
    assert any('http_route="/queues"' in line or 'http_target="/queues"' in line for line in served), served
    assert not any("/metrics" in line for line in served), "the scrape itself is not counted"


def test_no_template_has_inline_script_style_or_handlers() -> None:
    for template in TEMPLATES.glob("*.html"):
        text = template.read_text(encoding="utf-8")
        assert not re.search(r"<script(?![^>]*\bsrc=)", text), template.name
        assert not re.search(r"\sstyle=|\son[a-z]+=", text), template.name
        assert "http://" not in text and "https://" not in text, template.name


def test_a_form_without_its_csrf_token_is_refused_and_nothing_is_called(client: TestClient, fake: FakeApis) -> None:
    assert client.post("/signin", data={"token": AGENT}).status_code == 403
    _signed_in(client)
    before = len(fake.calls)
    refused = client.post("/cases/CP-20261207-000001/actions/assign", data={"csrf": "forged"})
    assert refused.status_code == 403 and len(fake.calls) == before


def test_cookies_are_httponly_lax_and_secure_outside_local_runs(fake: FakeApis) -> None:
    for env, secure in (("local", False), ("production", True)):
        client = next(_client(fake, env=env))
        page = client.get("/signin")
        cookie = page.headers["set-cookie"].lower()
        assert "httponly" in cookie and "samesite=lax" in cookie and ("secure" in cookie) is secure


def test_values_from_the_apis_are_escaped(client: TestClient) -> None:
    _signed_in(client)
    for path in ("/queues", "/cases/CP-20261207-000001"):
        page = client.get(path).text
        assert NASTY not in page and "&lt;script&gt;alert(" in page


def test_only_the_actions_allowed_now_are_offered(client: TestClient, fake: FakeApis) -> None:
    _signed_in(client)
    offered = set(re.findall(r'data-action="([a-z_]+)"', client.get("/cases/CP-20261207-000001").text))
    assert {"assign", "request_evidence", "propose_resolution", "escalate"} <= offered and "close" not in offered
    fake.case = _case("resolved", allowed_next_states=["closed", "in_review"], assigned_agent="agent-7")
    offered = set(re.findall(r'data-action="([a-z_]+)"', client.get("/cases/CP-20261207-000001").text))
    assert offered == {"close", "reopen"}


def test_an_action_calls_the_api_with_the_agents_own_token(client: TestClient, fake: FakeApis) -> None:
    _signed_in(client)
    page = client.get("/cases/CP-20261207-000001").text
    done = client.post("/cases/CP-20261207-000001/actions/assign", data={"csrf": _csrf(page)},
                       headers={"X-Console-Fetch": "1"})
    assert done.status_code == 200 and 'id="outcome"' in done.text and "<html" not in done.text
    posted = [c for c in fake.calls if c[0] == "POST"]
    assert posted[-1][1].endswith("/actions/assign") and posted[-1][2]["authorization"] == f"Bearer {AGENT}"


def test_a_status_link_opens_one_tickets_page_and_a_forged_or_expired_one_does_not(
        client: TestClient, fake: FakeApis) -> None:
    fake.case = _case("resolution_proposed", offer={"outcome": "refund"})
    good = sign_link(secret=SECRET, ticket="CP-20261207-000001", complainant_id="u-2001", platform="kamen-1")
    opened = client.get(f"/s/{good}", follow_redirects=False)
    assert opened.status_code == 303 and opened.headers["location"] == "/status"
    page = client.get("/status").text
    assert 'data-action="accept_resolution"' in page and 'accept="image/*"' not in page
    token = fake.calls[-1][2]["authorization"].split()[1]
    who = verify_token(secret=SECRET, token=token)
    assert (who.role.value, who.subject, who.platform, who.ticket) == (
        "complainant", "u-2001", "kamen-1", "CP-20261207-000001")
    expired = sign_link(secret=SECRET, ticket="CP-20261207-000001", complainant_id="u-2001", platform="kamen-1",
                        now=datetime.now(UTC) - timedelta(days=31))
    forged = good[:-3] + ("AAA" if not good.endswith("AAA") else "BBB")
    fresh = TestClient(client.app)
    for bad in (expired, forged, "nonsense"):
        assert fresh.get(f"/s/{bad}", follow_redirects=False).status_code == 403
    assert fresh.get("/status").status_code == 403


def test_the_status_page_offers_a_camera_upload_for_requested_evidence(client: TestClient, fake: FakeApis) -> None:
    fake.case = _case("awaiting_evidence", requested_evidence=["channel_notice"])
    client.get("/s/" + sign_link(secret=SECRET, ticket="CP-20261207-000001", complainant_id="u-2001",
                                 platform="kamen-1"))
    page = client.get("/status").text
    assert re.search(r'<input type="file" name="file" accept="image/\*" capture="environment"[^>]*'
                     r'data-item="channel_notice"', page)


def test_the_reader_switches_between_chinese_and_english(client: TestClient) -> None:
    assert "登录" in client.get("/signin").text
    client.get("/lang/en?next=/signin")
    page = client.get("/signin").text
    assert "Sign in" in page and 'lang="en"' in page


def test_breaching_soon_asks_for_cases_due_within_the_hours_the_agent_chose(client: TestClient, fake: FakeApis) -> None:
    _signed_in(client)
    before = datetime.now(UTC)
    fake.queries.clear()
    assert client.get("/queues", params={"q": "breaching", "hours": 8}).status_code == 200
    after = datetime.now(UTC)
    [page] = [q for q in fake.queries if q.get("limit") == "50"]  # the chosen queue's page (counts ask 1)
    due = datetime.fromisoformat(page["due_before"])
    assert before + timedelta(hours=8) <= due <= after + timedelta(hours=8) and page["breached"] == "false"
    assert client.get("/queues", params={"q": "breaching", "hours": 0}).status_code == 422


def test_the_queue_shows_each_queues_count(client: TestClient) -> None:
    _signed_in(client)
    page = client.get("/queues", params={"q": "unassigned"}).text
    counts = dict(re.findall(r'data-count="([a-z:_]+)">(\d+)<', page))
    assert counts["unassigned"] == "1" and "tier:legal" in counts and counts["mine"] == "1"


def test_a_refused_action_shows_the_guards_reason_on_the_page(client: TestClient) -> None:
    _signed_in(client)
    page = client.get("/cases/CP-20261207-000001").text
    refused = client.post("/cases/CP-20261207-000001/actions/escalate",
                          data={"csrf": _csrf(page), "target": "platform", "reason": "商家不回复"},
                          headers={"X-Console-Fetch": "1"})
    assert 'class="outcome refused"' in refused.text and "升级到平台介入需要商家的拒绝记录" in refused.text


def test_a_merchant_reads_its_case_but_is_offered_no_agents_action(client: TestClient, fake: FakeApis) -> None:
    shop = mint_token(secret=SECRET, subject="shop-1", role="merchant", platform="kamen-1", merchant_id="m-1")
    page = client.get("/signin").text
    assert client.post("/signin", data={"token": shop, "csrf": _csrf(page)}, follow_redirects=False).status_code == 303
    case = client.get("/cases/CP-20261207-000001").text
    assert 'id="ticket"' in case and "data-action=" not in case
    before = len(fake.calls)
    refused = client.post("/cases/CP-20261207-000001/actions/assign", data={"csrf": _csrf(case)})
    assert 'class="outcome refused"' in refused.text
    assert not [c for c in fake.calls[before:] if c[0] == "POST"]
