"""Background loops outlive what they did not expect: the delivery worker keeps sending after a claim
fails with an answer nobody planned for, claims again at once when another worker took what it
chose or its endpoint's cap left some behind, and any loop that fails is started again (and /readyz
says so)."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pymongo.errors import OperationFailure

from services.notify.config import NotifySettings
from services.notify.main import create_app
from services.notify.service import delivery
from tests.support.notify_harness import complaint_filed, notify_settings, publish, running_notify, token
from tests.support.servers import Servers
from tests.support.suite import create_topics
from tests.support.waiting import wait_until
from tests.support.webhook_receiver import WebhookReceiver

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def settings(servers: Servers, namespace: str, service_env: dict[str, str]) -> NotifySettings:
    create_topics(env=service_env)
    return notify_settings(servers=servers, namespace=namespace)


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    server = WebhookReceiver().start()
    yield server
    server.stop()


def test_a_claim_the_store_answers_with_an_error_does_not_stop_webhooks(
        settings: NotifySettings, receiver: WebhookReceiver, monkeypatch: pytest.MonkeyPatch) -> None:
    real_claim = delivery.claim
    failed: list[str] = []

    def claim(**kwargs: Any) -> list[Any]:
        if kwargs["channel"] == "webhook" and len(failed) < 3:
            failed.append(kwargs["channel"])
            raise OperationFailure("internal server error", code=1)
        return real_claim(**kwargs)

    monkeypatch.setattr(delivery, "claim", claim)
    with running_notify(settings) as app:
        partner = token(settings, subject="p-claim-integration", role="partner", platform="p-claim")
        made = app.post("/v1/subscriptions", json={"url": receiver.url}, headers=partner)
        assert made.status_code == 201, made.text
        wait_until(lambda: len(failed) == 3, timeout=30, what="three failed claims")
        filed = complaint_filed(platform="p-claim")
        publish(settings, topic=settings.topics.intake_events, events=[filed])

        [request] = receiver.wait_for(count=1, timeout=30)
        assert filed.ticket in request.body.decode()
        ready = app.get("/readyz")
        assert ready.status_code == 200
        assert ready.json()["background_restarts"] == {}  # the worker went on; nothing had to be restarted


def test_a_webhook_claim_that_lost_deliveries_to_another_worker_is_made_again_at_once(
        settings: NotifySettings, monkeypatch: pytest.MonkeyPatch) -> None:
    # Two notify processes read the same due set; the one whose chosen deliveries the other leased
    # first claims again at once (the next ones are free), not after its poll interval.
    calls: list[float] = []

    def claim(**kwargs: Any) -> delivery.Claimed:
        if kwargs["channel"] != "webhook":
            return delivery.Claimed([])
        calls.append(time.monotonic())
        return delivery.Claimed([], contended=len(calls) == 1)  # the first lost all it chose

    monkeypatch.setattr(delivery, "claim", claim)
    with running_notify(settings.model_copy(update={"delivery_poll_s": 120.0})):
        wait_until(lambda: len(calls) >= 2, timeout=20, what="a second webhook claim well before the poll interval")
    assert calls[1] - calls[0] < 20


def test_a_held_backlog_larger_than_its_endpoints_cap_drains_without_waiting_for_the_poll(
        settings: NotifySettings, receiver: WebhookReceiver) -> None:
    # One POST in flight to the endpoint: each claim takes a few of the backlog (its endpoint's cap)
    # and leaves the rest due. A finished send claims the next ones; the poll interval is two minutes.
    slow_poll = settings.model_copy(update={"delivery_poll_s": 120.0, "concurrency_per_endpoint": 1})
    with running_notify(slow_poll) as app:
        partner = token(settings, subject="p-drain-integration", role="partner", platform="p-drain")
        made = app.post("/v1/subscriptions", json={"url": receiver.url}, headers=partner)
        assert made.status_code == 201, made.text
        sub = f"/v1/subscriptions/{made.json()['id']}"
        assert app.post(f"{sub}/pause", headers=partner).status_code == 200
        filings = [complaint_filed(platform="p-drain") for _ in range(30)]
        publish(settings, topic=settings.topics.intake_events, events=filings)
        wait_until(lambda: app.get(sub, headers=partner).json()["pending_deliveries"] == 30, timeout=60,
                   what="30 deliveries held while paused")
        assert app.post(f"{sub}/resume", headers=partner).status_code == 200

        received = receiver.wait_for(count=30, timeout=60)
        # Every held delivery, each once, long before the next poll.
        assert sorted(json.loads(r.body)["data"]["ticket"] for r in received) == sorted(f.ticket for f in filings)


def test_a_background_loop_that_fails_is_started_again_and_counted(settings: NotifySettings) -> None:
    runs: list[int] = []
    again = threading.Event()

    async def flaky_loop() -> None:
        runs.append(len(runs) + 1)
        if len(runs) == 1:
            raise RuntimeError("a bug in the loop")
        again.set()
        await asyncio.Event().wait()  # then it runs for the life of the process

    app = create_app(settings)
    app.state.runtime.background.append(flaky_loop)
    with TestClient(app) as client:
        assert again.wait(30), f"the loop was not started again (runs: {runs})"
        answer = wait_until(lambda: (r := client.get("/readyz")).status_code == 200 and r, timeout=30,
                            what="notify ready")
        restarts = answer.json()["background_restarts"]
        assert restarts == {flaky_loop.__qualname__: 1}, restarts
        assert runs == [1, 2]


def test_stopping_ends_a_loop_that_swallowed_its_cancellation_and_does_not_start_it_again(
        settings: NotifySettings) -> None:
    runs: list[str] = []

    async def stubborn_loop() -> None:
        runs.append("started")
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            runs.append("swallowed the cancellation")  # as a library's wait once did
        await asyncio.Event().wait()  # and then waits on something new

    app = create_app(settings)
    app.state.runtime.background.append(stubborn_loop)
    client = TestClient(app).__enter__()
    wait_until(lambda: client.get("/readyz").status_code == 200 and runs, timeout=60, what="notify ready")
    stopping = threading.Thread(target=client.__exit__, args=(None, None, None), daemon=True)
    stopping.start()
    stopping.join(timeout=60)
    assert not stopping.is_alive(), "the service's shutdown hangs on a loop that swallowed its cancellation"
    assert runs == ["started", "swallowed the cancellation"]  # stopped, not started again
