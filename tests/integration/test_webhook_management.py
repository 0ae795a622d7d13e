"""Webhook management as a partner uses it: a signed test event, changing a subscription, the events list
to reconcile from, replay under the original ids, a filtered and paged delivery log, rotation grace,
the email to a paused endpoint's owner, and egress to the address that was checked."""

from __future__ import annotations

import ipaddress
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from cloudevents.core.formats.json import JSONFormat
from fastapi.testclient import TestClient
from standardwebhooks import Webhook

from services.notify.adapters import webhook_targets
from services.notify.config import NotifySettings
from tests.support.notify_harness import complaint_filed, notify_settings, publish, running_notify, token
from tests.support.servers import Servers
from tests.support.smtp_server import SmtpServer
from tests.support.suite import create_topics
from tests.support.waiting import wait_until
from tests.support.webhook_receiver import WebhookReceiver

pytestmark = pytest.mark.integration
PING = "org.complaints-suite.webhook.ping.v1"


@pytest.fixture(scope="module")
def smtp() -> Iterator[SmtpServer]:
    with SmtpServer() as server:
        yield server


@pytest.fixture(scope="module")
def settings(servers: Servers, namespace: str, service_env: dict[str, str], smtp: SmtpServer) -> NotifySettings:
    create_topics(env=service_env)
    return notify_settings(servers=servers, namespace=namespace, webhook_timeout_s=2.0,
                           webhook_pause_after_failures=3, webhook_pause_after_s=0,
                           smtp_host=smtp.host, smtp_port=smtp.port, smtp_tls="none")


@pytest.fixture(scope="module")
def app(settings: NotifySettings) -> Iterator[TestClient]:
    with running_notify(settings) as client:
        yield client


@pytest.fixture
def receiver(request: pytest.FixtureRequest) -> Iterator[WebhookReceiver]:
    server = WebhookReceiver(**getattr(request, "param", {})).start()
    yield server
    server.stop()


def partner(settings: NotifySettings, platform: str) -> dict[str, str]:
    return token(settings, subject=f"{platform}-integration", role="partner", platform=platform)


def subscribe(app: TestClient, settings: NotifySettings, platform: str, url: str, **fields: Any) -> dict[str, Any]:
    response = app.post("/v1/subscriptions", json={"url": url} | fields, headers=partner(settings, platform))
    assert response.status_code == 201, response.text
    return response.json()


def events_of(app: TestClient, settings: NotifySettings, platform: str, **params: Any) -> dict[str, Any]:
    response = app.get("/v1/events", params=params, headers=partner(settings, platform))
    assert response.status_code == 200, response.text
    return response.json()


def verifies(secret: str, request: Any) -> bool:
    try:
        Webhook(secret).verify(request.body, request.headers)
    except Exception:  # noqa: BLE001 - the verifier raises its own WebhookVerificationError
        return False
    return True


def test_a_ping_is_signed_sent_at_once_and_answered_with_its_outcome(
        app: TestClient, settings: NotifySettings, receiver: WebhookReceiver) -> None:
    sub = subscribe(app, settings, "wm-ping", receiver.url)
    answer = app.post(f"/v1/subscriptions/{sub['id']}/test", headers=partner(settings, "wm-ping"))

    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["ok"] is True and body["status_code"] == 204 and body["latency_ms"] >= 0
    [request] = receiver.requests  # already there when the call answered: sent at once
    payload = Webhook(sub["secret"]).verify(request.body, request.headers)
    assert payload["type"] == PING and payload["data"]["subscription_id"] == sub["id"]
    event = JSONFormat().read(None, request.body)  # a CloudEvent a partner's SDK parses
    assert event.get_type() == PING and request.headers["webhook-id"] == body["webhook_id"]
    logged = app.get(f"/v1/subscriptions/{sub['id']}/deliveries", headers=partner(settings, "wm-ping")).json()
    assert [(d["id"], d["state"], d["attempts"][0]["status_code"]) for d in logged["items"]] == \
        [(body["delivery_id"], "delivered", 204)]


@pytest.mark.parametrize("receiver", [{"fail_first": 1, "fail_status": 503}], indirect=True)
def test_a_refused_ping_answers_502_naming_the_status(app: TestClient, settings: NotifySettings,
                                                       receiver: WebhookReceiver) -> None:
    sub = subscribe(app, settings, "wm-ping-502", receiver.url)
    answer = app.post(f"/v1/subscriptions/{sub['id']}/test", headers=partner(settings, "wm-ping-502"))
    assert answer.status_code == 502, answer.text
    assert "HTTP 503" in answer.text and "receiver failing on purpose" in answer.text


@pytest.mark.parametrize("receiver", [{"delay": 6.0}], indirect=True)
def test_a_ping_to_a_hanging_endpoint_answers_504(app: TestClient, settings: NotifySettings,
                                                   receiver: WebhookReceiver) -> None:
    sub = subscribe(app, settings, "wm-ping-504", receiver.url)
    answer = app.post(f"/v1/subscriptions/{sub['id']}/test", headers=partner(settings, "wm-ping-504"))
    assert answer.status_code == 504, answer.text
    assert "in time" in answer.text


def test_patch_changes_url_types_and_description_and_keeps_the_secret(
        app: TestClient, settings: NotifySettings, receiver: WebhookReceiver) -> None:
    headers = partner(settings, "wm-patch")
    sub = subscribe(app, settings, "wm-patch", "http://127.0.0.1:9/hook")
    moved = app.patch(f"/v1/subscriptions/{sub['id']}", headers=headers,
                      json={"url": receiver.url, "event_types": ["ComplaintFiled"], "description": "orders",
                            "contact_email": "ops@partner.test"})
    assert moved.status_code == 200, moved.text
    shown = moved.json()
    assert (shown["url"], shown["event_types"], shown["description"], shown["contact_email"]) == \
        (receiver.url, ["ComplaintFiled"], "orders", "ops@partner.test")
    assert "secret" not in shown
    assert app.post(f"/v1/subscriptions/{sub['id']}/test", headers=headers).status_code == 200
    [request] = receiver.requests
    Webhook(sub["secret"]).verify(request.body, request.headers)  # the secret did not change

    for bad, rule in [({"url": "https://user:pw@93.184.215.14/hook"}, "credentials"),
                      ({"url": "ftp://hooks.example.com/in"}, "http or https")]:
        refused = app.patch(f"/v1/subscriptions/{sub['id']}", headers=headers, json=bad)
        assert refused.status_code == 422, refused.text
        assert rule in refused.text and "url" in refused.text and "webhook_target" in refused.text
    unknown = app.patch(f"/v1/subscriptions/{sub['id']}", headers=headers, json={"event_types": ["CardKeyChecked"]})
    assert unknown.status_code == 422 and "event_types" in unknown.text
    assert app.patch(f"/v1/subscriptions/{sub['id']}", headers=headers, json={"secret": "whsec_x"}).status_code == 422
    assert app.patch(f"/v1/subscriptions/{sub['id']}", headers=partner(settings, "wm-other"),
                     json={"description": "x"}).status_code == 404
    assert app.get(f"/v1/subscriptions/{sub['id']}", headers=headers).json()["url"] == receiver.url


def test_the_events_list_is_paged_by_cursor_and_scoped_to_the_platform(
        app: TestClient, settings: NotifySettings) -> None:
    mine = [complaint_filed(platform="wm-list") for _ in range(3)]
    theirs = complaint_filed(platform="wm-list-other")
    publish(settings, topic=settings.topics.intake_events, events=[*mine, theirs])
    wait_until(lambda: len(events_of(app, settings, "wm-list")["items"]) == 3
               and events_of(app, settings, "wm-list-other")["items"], timeout=30, what="the events recorded")

    first = events_of(app, settings, "wm-list", limit=2)
    assert len(first["items"]) == 2 and first["has_more"] is True
    second = events_of(app, settings, "wm-list", limit=2, cursor=first["next_cursor"])
    assert len(second["items"]) == 1 and second["has_more"] is False
    listed = [*first["items"], *second["items"]]
    assert sorted(e["ticket"] for e in listed) == sorted(e.ticket for e in mine)
    assert all(theirs.ticket not in json.dumps(e) for e in listed)
    assert events_of(app, settings, "wm-list", cursor=second["next_cursor"])["items"] == []  # nothing new yet
    assert events_of(app, settings, "wm-list", types="SlaBreached")["items"] == []
    later = (datetime.now(UTC) + timedelta(minutes=1)).isoformat()
    assert events_of(app, settings, "wm-list", since=later)["items"] == []
    bad = app.get("/v1/events", params={"cursor": "not-a-cursor"}, headers=partner(settings, "wm-list"))
    assert bad.status_code == 422 and "cursor" in bad.text
    merchant = token(settings, subject="m-1", role="merchant", platform="wm-list", merchant_id="m-1")
    assert app.get("/v1/events", headers=merchant).status_code == 403


def test_a_replay_resends_a_range_under_the_original_webhook_ids(
        app: TestClient, settings: NotifySettings, receiver: WebhookReceiver) -> None:
    headers = partner(settings, "wm-replay")
    sub = subscribe(app, settings, "wm-replay", receiver.url, event_types=["ComplaintFiled"])
    start = datetime.now(UTC) - timedelta(seconds=1)
    publish(settings, topic=settings.topics.intake_events, events=[complaint_filed(platform="wm-replay")
                                                                  for _ in range(2)])
    first = receiver.wait_for(count=2, timeout=30)
    original = {r.headers["webhook-id"]: r.body for r in first}
    end = datetime.now(UTC) + timedelta(seconds=1)
    # Stored as delivered (a webhook may arrive a moment before the transaction recording it commits).
    wait_until(lambda: [d["state"] for d in app.get(f"/v1/subscriptions/{sub['id']}/deliveries",
                                                    headers=headers).json()["items"]] == ["delivered"] * 2,
               timeout=30, what="the first deliveries stored delivered")

    answer = app.post(f"/v1/subscriptions/{sub['id']}/replay", headers=headers,
                      json={"from": start.isoformat(), "to": end.isoformat()})
    assert answer.status_code == 202, answer.text
    assert answer.json()["events"] == 2 and {i["webhook_id"] for i in answer.json()["items"]} == set(original)
    again = receiver.wait_for(count=4, timeout=30)[2:]
    assert {r.headers["webhook-id"]: r.body for r in again} == original  # same ids, same bodies
    for request in again:
        Webhook(sub["secret"]).verify(request.body, request.headers)

    # A subscription made later gets the range under the ids its deliveries would have had; asked twice
    # before they went out (the endpoint paused meanwhile), nothing is queued twice.
    late = WebhookReceiver().start()
    try:
        newcomer = subscribe(app, settings, "wm-replay", late.url)
        assert app.post(f"/v1/subscriptions/{newcomer['id']}/pause", headers=headers).json()["paused"]
        body = {"from": start.isoformat(), "to": end.isoformat()}
        once = app.post(f"/v1/subscriptions/{newcomer['id']}/replay", headers=headers, json=body).json()
        ids = {i["webhook_id"] for i in once["items"]}
        twice = app.post(f"/v1/subscriptions/{newcomer['id']}/replay", headers=headers, json=body).json()
        assert (once["queued"], twice["queued"], twice["already_pending"]) == (2, 0, 2)
        app.post(f"/v1/subscriptions/{newcomer['id']}/resume", headers=headers)
        got = late.wait_for(count=2, timeout=30)
        assert {r.headers["webhook-id"] for r in got} == ids and not ids & set(original)
        assert sorted(r.body for r in got) == sorted(original.values())  # the body every subscription gets
        wait_until(lambda: all(d["state"] == "delivered" for d in app.get(
            f"/v1/subscriptions/{newcomer['id']}/deliveries", headers=headers).json()["items"]), timeout=30,
            what="the replayed deliveries settled")
        assert len(late.requests) == 2
    finally:
        late.stop()
    reversed_range = app.post(f"/v1/subscriptions/{sub['id']}/replay", headers=headers,
                              json={"from": end.isoformat(), "to": start.isoformat()})
    assert reversed_range.status_code == 422 and "'to' must be after 'from'" in reversed_range.text


@pytest.mark.parametrize("receiver", [{"fail_first": 1}], indirect=True)
def test_the_delivery_log_is_filtered_by_status_and_time_and_paged(
        app: TestClient, settings: NotifySettings, receiver: WebhookReceiver) -> None:
    headers = partner(settings, "wm-log")
    sub = subscribe(app, settings, "wm-log", receiver.url)
    before = datetime.now(UTC) - timedelta(seconds=1)
    codes = [app.post(f"/v1/subscriptions/{sub['id']}/test", headers=headers).status_code for _ in range(4)]
    assert codes == [502, 200, 200, 200]
    url = f"/v1/subscriptions/{sub['id']}/deliveries"

    [failed] = app.get(url, params={"status": "failed"}, headers=headers).json()["items"]
    assert failed["attempts"][0]["status_code"] == 500
    page = app.get(url, params={"status": "delivered", "limit": 2}, headers=headers).json()
    assert len(page["items"]) == 2 and page["next_cursor"]
    rest = app.get(url, params={"status": "delivered", "limit": 2, "cursor": page["next_cursor"]},
                   headers=headers).json()
    assert len(rest["items"]) == 1 and rest["next_cursor"] is None
    ids = [d["id"] for d in page["items"] + rest["items"]]
    assert len(set(ids)) == 3 and failed["id"] not in ids
    assert len(app.get(url, params={"status": "failed,delivered"}, headers=headers).json()["items"]) == 4
    assert app.get(url, params={"until": before.isoformat()}, headers=headers).json()["items"] == []
    assert len(app.get(url, params={"since": before.isoformat()}, headers=headers).json()["items"]) == 4
    wrong = app.get(url, params={"status": "lost"}, headers=headers)
    assert wrong.status_code == 422 and "status" in wrong.text


def test_a_rotated_out_secret_signs_during_the_grace_and_not_after(
        app: TestClient, settings: NotifySettings, receiver: WebhookReceiver) -> None:
    headers = partner(settings, "wm-grace")
    sub = subscribe(app, settings, "wm-grace", receiver.url)
    rotated = app.post(f"/v1/subscriptions/{sub['id']}/secret/rotate", headers=headers, json={"grace_s": 2})
    assert rotated.status_code == 200 and rotated.json()["previous_secrets_valid_for_s"] == 2
    until = datetime.fromisoformat(rotated.json()["previous_secrets_valid_until"])

    assert app.post(f"/v1/subscriptions/{sub['id']}/test", headers=headers).status_code == 200
    during = receiver.requests[-1]
    assert verifies(rotated.json()["secret"], during) and verifies(sub["secret"], during)

    wait_until(lambda: datetime.now(UTC) > until + timedelta(milliseconds=100), timeout=10, what="the grace to end")
    assert app.post(f"/v1/subscriptions/{sub['id']}/test", headers=headers).status_code == 200
    after = receiver.requests[-1]
    assert verifies(rotated.json()["secret"], after) and not verifies(sub["secret"], after)


@pytest.mark.parametrize("receiver", [{"fail_first": 1000}], indirect=True)
def test_the_owner_of_an_endpoint_paused_for_failures_gets_an_email(
        app: TestClient, settings: NotifySettings, receiver: WebhookReceiver, smtp: SmtpServer) -> None:
    sub = subscribe(app, settings, "wm-paused", receiver.url, contact_email="hooks-owner@partner.test")
    publish(settings, topic=settings.topics.intake_events, events=[complaint_filed(platform="wm-paused")])

    [mail] = wait_until(lambda: [m for m in smtp.messages if m["To"] == "hooks-owner@partner.test"], timeout=30,
                        what="the email to the endpoint's owner")
    text = mail.get_body(preferencelist=("plain",)).get_content()
    assert sub["id"] in text and receiver.url in text and "paused" in text
    assert app.get(f"/v1/subscriptions/{sub['id']}", headers=partner(settings, "wm-paused")).json()["paused"]


def test_a_name_is_resolved_once_per_send_and_connected_at_that_address(
        app: TestClient, settings: NotifySettings, receiver: WebhookReceiver, monkeypatch: pytest.MonkeyPatch) -> None:
    port = int(receiver.url.rsplit(":", 1)[1].split("/")[0])
    asked: list[str] = []

    async def resolver(host: str, _port: int) -> list:
        # A name no system resolver knows: were it resolved again when connecting, the send would fail.
        asked.append(host)
        return [ipaddress.ip_address("127.0.0.1")]

    monkeypatch.setattr(webhook_targets, "resolve_host", resolver)
    url = f"http://hooks.partner.invalid:{port}/hook"
    sub = subscribe(app, settings, "wm-pin", url)
    asked.clear()
    answer = app.post(f"/v1/subscriptions/{sub['id']}/test", headers=partner(settings, "wm-pin"))

    assert answer.status_code == 200, answer.text
    assert asked == ["hooks.partner.invalid"]  # once, for the check; the connection used its answer
    [request] = receiver.requests
    assert request.headers["host"] == f"hooks.partner.invalid:{port}"
