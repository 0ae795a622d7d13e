"""Signed webhooks on the real broker and store: verification, retries, pause, hanging endpoints, redelivery."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from standardwebhooks import Webhook

from services.notify.config import NotifySettings
from tests.support.metrics import consumer_of, present, scrape, scrape_when, strand_outbox_entries, total
from tests.support.notify_harness import complaint_filed, notify_settings, publish, running_notify, store, token
from tests.support.servers import Servers
from tests.support.suite import create_topics
from tests.support.waiting import wait_until
from tests.support.webhook_receiver import WebhookReceiver

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def settings(servers: Servers, namespace: str, service_env: dict[str, str]) -> NotifySettings:
    create_topics(env=service_env)
    return notify_settings(servers=servers, namespace=namespace, webhook_timeout_s=2.0,
                           webhook_pause_after_failures=3, webhook_pause_after_s=0)


@pytest.fixture(scope="module")
def app(settings: NotifySettings) -> Iterator[TestClient]:
    with running_notify(settings) as client:
        yield client


@pytest.fixture
def receiver(request: pytest.FixtureRequest) -> Iterator[WebhookReceiver]:
    options = getattr(request, "param", {})
    server = WebhookReceiver(**options).start()
    yield server
    server.stop()


def subscribe(app: TestClient, settings: NotifySettings, *, platform: str, url: str) -> dict[str, Any]:
    response = app.post("/v1/subscriptions", json={"url": url, "event_types": ["ComplaintFiled"]},
                        headers=token(settings, subject=f"{platform}-integration", role="partner", platform=platform))
    assert response.status_code == 201, response.text
    return response.json()


def partner(settings: NotifySettings, platform: str) -> dict[str, str]:
    return token(settings, subject=f"{platform}-integration", role="partner", platform=platform)


def delivery_log(app: TestClient, settings: NotifySettings, platform: str, sub_id: str) -> list[dict[str, Any]]:
    response = app.get(f"/v1/subscriptions/{sub_id}/deliveries", headers=partner(settings, platform))
    assert response.status_code == 200, response.text
    return response.json()["items"]


def test_a_delivery_verifies_with_the_partners_secret_and_carries_no_contact(
        app: TestClient, settings: NotifySettings, receiver: WebhookReceiver) -> None:
    sub = subscribe(app, settings, platform="p-verify", url=receiver.url)
    assert sub["secret"].startswith("whsec_")
    event = complaint_filed(platform="p-verify", phone="13812345678", email="buyer@example.com")
    publish(settings, topic=settings.topics.intake_events, events=[event])

    [request] = receiver.wait_for(count=1, timeout=30)
    payload = Webhook(sub["secret"]).verify(request.body, request.headers)
    # Issue 23: the body is the public CloudEvent; the filter's internal name still picks it.
    assert payload["type"] == "org.complaints-suite.complaint.filed.v1" and payload["specversion"] == "1.0"
    assert payload["data"]["ticket"] == event.ticket and payload["subject"] == event.complaint_id
    assert b"13812345678" not in request.body and b"buyer@example.com" not in request.body
    with pytest.raises(Exception, match="(?i)signature"):
        Webhook("whsec_" + "A" * 43 + "=").verify(request.body, request.headers)

    rotated = app.post(f"/v1/subscriptions/{sub['id']}/secret/rotate", headers=partner(settings, "p-verify")).json()
    publish(settings, topic=settings.topics.intake_events, events=[complaint_filed(platform="p-verify")])
    second = receiver.wait_for(count=2, timeout=30)[1]
    for secret in (rotated["secret"], sub["secret"]):  # both verify during the grace period
        Webhook(secret).verify(second.body, second.headers)
    listed = app.get("/v1/subscriptions", headers=partner(settings, "p-verify")).text
    assert sub["secret"] not in listed and rotated["secret"] not in listed


@pytest.mark.parametrize("receiver", [{"fail_first": 2}], indirect=True)
def test_a_receiver_failing_twice_gets_one_success_and_three_logged_attempts(
        app: TestClient, settings: NotifySettings, receiver: WebhookReceiver) -> None:
    sub = subscribe(app, settings, platform="p-retry", url=receiver.url)
    publish(settings, topic=settings.topics.intake_events, events=[complaint_filed(platform="p-retry")])

    [entry] = wait_until(lambda: [d for d in delivery_log(app, settings, "p-retry", sub["id"])
                                  if d["state"] == "delivered"], timeout=30, what="the delivery to succeed")
    assert [a["status_code"] for a in entry["attempts"]] == [500, 500, 204]
    assert [a["ok"] for a in entry["attempts"]] == [False, False, True]
    assert all(a["latency_ms"] >= 0 for a in entry["attempts"])
    assert "HTTP 500" in entry["attempts"][0]["error"]
    requests = receiver.requests
    assert [r.answered for r in requests] == [500, 500, 204]
    assert len({r.headers["webhook-id"] for r in requests}) == 1


@pytest.mark.parametrize("receiver", [{"delay": 30.0}], indirect=True)
def test_a_hanging_endpoint_does_not_block_another(app: TestClient, settings: NotifySettings,
                                                   receiver: WebhookReceiver) -> None:
    fast = WebhookReceiver().start()
    try:
        hanging = subscribe(app, settings, platform="p-hang", url=receiver.url)
        subscribe(app, settings, platform="p-hang", url=fast.url)
        events = [complaint_filed(platform="p-hang") for _ in range(8)]
        publish(settings, topic=settings.topics.intake_events, events=events)

        got = fast.wait_for(count=8, timeout=20)
        assert {json.loads(r.body)["data"]["ticket"] for r in got} == {e.ticket for e in events}
        assert receiver.requests == []  # still hanging: nothing answered there yet
        log = wait_until(lambda: [a for d in delivery_log(app, settings, "p-hang", hanging["id"])
                                  for a in d["attempts"]], timeout=20, what="a timed-out attempt")
        assert "timed out" in log[0]["error"]
    finally:
        fast.stop()


@pytest.mark.parametrize("receiver", [{"fail_first": 3}], indirect=True)
def test_a_persistently_failing_endpoint_is_paused_its_owner_told_and_resumed(
        app: TestClient, settings: NotifySettings, receiver: WebhookReceiver) -> None:
    sub = subscribe(app, settings, platform="p-pause", url=receiver.url)
    publish(settings, topic=settings.topics.intake_events, events=[complaint_filed(platform="p-pause")])
    headers = partner(settings, "p-pause")

    wait_until(lambda: app.get(f"/v1/subscriptions/{sub['id']}", headers=headers).json()["paused"],
               timeout=30, what="the endpoint to be paused")
    inbox = app.get("/v1/inbox", headers=headers).json()
    assert any(sub["id"] in item["body"] and item["event_type"] == "WebhookEndpointPaused"
               for item in inbox["items"])
    assert len(receiver.requests) == 3

    assert app.post(f"/v1/subscriptions/{sub['id']}/resume", headers=headers).json()["paused"] is False
    [entry] = wait_until(lambda: [d for d in delivery_log(app, settings, "p-pause", sub["id"])
                                  if d["state"] == "delivered"], timeout=30, what="delivery after resume")
    assert len(entry["attempts"]) == 4


def test_manual_redelivery_sends_the_same_message_again(app: TestClient, settings: NotifySettings,
                                                        receiver: WebhookReceiver) -> None:
    sub = subscribe(app, settings, platform="p-again", url=receiver.url)
    publish(settings, topic=settings.topics.intake_events, events=[complaint_filed(platform="p-again")])
    [first] = receiver.wait_for(count=1, timeout=30)
    [entry] = wait_until(lambda: [d for d in delivery_log(app, settings, "p-again", sub["id"])
                                  if d["state"] == "delivered"], timeout=30, what="the first delivery logged")

    answer = app.post(f"/v1/subscriptions/{sub['id']}/deliveries/{entry['id']}/redeliver",
                      headers=partner(settings, "p-again"))
    assert answer.status_code == 202, answer.text
    second = receiver.wait_for(count=2, timeout=30)[1]
    assert second.headers["webhook-id"] == first.headers["webhook-id"] and second.body == first.body
    other = app.post(f"/v1/subscriptions/{sub['id']}/deliveries/{entry['id']}/redeliver",
                     headers=partner(settings, "p-elsewhere"))
    assert other.status_code == 404


# --- metrics: GET /metrics as an operator reads it, moving with the work ------------------------------


def test_consumer_lag_grows_while_a_consumer_is_paused_and_drains_to_zero_after(
        app: TestClient, settings: NotifySettings) -> None:
    topic, lag = settings.topics.intake_events, "complaints_consumer_lag"
    kafka = consumer_of(app, topic)._subscriber.consumer
    parts = list(kafka.assignment())
    before = scrape(app)
    assert present(before, lag, topic=topic, partition="0"), "every assigned partition reports its lag"
    processed = total(before, "complaints_consumer_records_processed_total", topic=topic)
    app.portal.call(lambda: kafka.pause(*parts))  # type: ignore[union-attr]
    try:
        publish(settings, topic=topic, events=[complaint_filed(platform="p-lag") for _ in range(3)])
        wait_until(lambda: scrape_when(app, lambda s: total(s, lag, topic=topic) >= 3), timeout=20,
                   what="a lag of 3 while paused")
    finally:
        app.portal.call(lambda: kafka.resume(*parts))  # type: ignore[union-attr]
    drained = wait_until(lambda: scrape_when(app, lambda s: total(s, lag, topic=topic) == 0), timeout=30,
                         what="the lag back to 0 once resumed")
    assert total(drained, "complaints_consumer_records_processed_total", topic=topic) >= processed + 3


def test_outbox_backlog_and_oldest_pending_age_rise_with_unpublished_entries_and_fall_once_published(
        app: TestClient, settings: NotifySettings) -> None:
    backlog = "complaints_outbox_backlog"
    published = total(scrape(app), "complaints_outbox_published_total")
    strand_outbox_entries(store(settings), topic=settings.topics.notify_events, count=4, age_s=30, lease_s=2.5)
    waiting = wait_until(lambda: scrape_when(app, lambda s: total(s, backlog, state="pending") >= 4), timeout=3,
                         what="the four entries in the backlog")
    assert total(waiting, "complaints_outbox_oldest_pending_age_seconds") >= 30
    drained = wait_until(lambda: scrape_when(app, lambda s: total(s, backlog, state="pending") == 0),
                         timeout=20, what="the backlog published")
    assert total(drained, "complaints_outbox_oldest_pending_age_seconds") == 0
    assert total(drained, "complaints_outbox_published_total") >= published + 4


@pytest.mark.parametrize("receiver", [{"fail_first": 2}], indirect=True)
def test_a_webhook_endpoint_shows_its_queue_while_held_and_its_failures_once_sent(
        app: TestClient, settings: NotifySettings, receiver: WebhookReceiver) -> None:
    sub, headers = subscribe(app, settings, platform="p-metrics", url=receiver.url), partner(settings, "p-metrics")
    depth, failures = "complaints_webhook_queue_depth", "complaints_webhook_failures_total"
    assert app.post(f"/v1/subscriptions/{sub['id']}/pause", headers=headers).status_code == 200
    publish(settings, topic=settings.topics.intake_events,
            events=[complaint_filed(platform="p-metrics") for _ in range(2)])
    held = wait_until(lambda: scrape_when(app, lambda s: total(s, depth, endpoint=sub["id"]) == 2), timeout=20,
                      what="two deliveries queued for the held endpoint")
    assert total(held, "complaints_webhook_oldest_pending_age_seconds", endpoint=sub["id"]) > 0
    assert total(held, failures, endpoint=sub["id"]) == 0
    assert app.post(f"/v1/subscriptions/{sub['id']}/resume", headers=headers).status_code == 200
    receiver.wait_for(count=4, timeout=30)  # two failures, then both delivered
    sent = wait_until(lambda: scrape_when(app, lambda s: total(s, depth, endpoint=sub["id"]) == 0), timeout=20,
                      what="the endpoint's queue drained")
    assert total(sent, failures, endpoint=sub["id"]) == 2
    assert total(sent, "complaints_webhook_oldest_pending_age_seconds", endpoint=sub["id"]) == 0
    assert total(sent, "complaints_delivery_attempts_total", channel="webhook", outcome="ok") >= 2


def test_http_requests_are_counted_by_route_template_and_status(app: TestClient, settings: NotifySettings) -> None:
    unknown = "/v1/subscriptions/sub-nowhere-404/deliveries"
    assert app.get(unknown, headers=partner(settings, "p-http")).status_code == 404
    assert app.get("/v1/subscriptions").status_code == 401
    samples, name = scrape(app), "http_server_duration_milliseconds_count"
    assert total(samples, name, http_target="/v1/subscriptions/{subscription_id}/deliveries",
                 http_status_code="404") >= 1
    assert total(samples, name, http_target="/v1/subscriptions", http_status_code="401") >= 1
    assert not any(unknown == value for (_n, labels) in samples for _k, value in labels), "no raw ids as labels"
    assert not present(samples, name, http_target="/metrics"), "scrapes are not counted as traffic"
