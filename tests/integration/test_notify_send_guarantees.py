"""What notify promises about each webhook send, seen from the receiving end with private targets NOT
allowed: a delete stops sends at once, a host that now resolves to a private address is refused before the
send, a redirect is not followed, and a delivery that keeps failing ends failed at the retry horizon.

Names resolve through a table (the one resolver of webhook egress is replaced); only the host named in
NOTIFY_WEBHOOK_PRIVATE_HOSTS may resolve to the loopback receivers, every other name is checked."""

from __future__ import annotations

import ipaddress
import threading
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from fastapi import FastAPI, Request, Response
from fastapi.testclient import TestClient

from services.notify.adapters import webhook_targets
from services.notify.config import NotifySettings
from tests.support.notify_harness import (
    complaint_filed,
    logged_attempts,
    notify_settings,
    publish,
    running_notify,
    store,
    token,
)
from tests.support.servers import Servers
from tests.support.sms_provider import AppServer
from tests.support.suite import create_topics
from tests.support.waiting import wait_until

pytestmark = pytest.mark.integration
RELAY = "relay.partner.test"  # the one host allowed to resolve to a private address
HORIZON_S = 3.0
DNS: dict[str, str] = {RELAY: "127.0.0.1"}


class Endpoint:
    """A partner's receiver: /hook answers `status` (with a Location for 3xx); every request is kept."""

    def __init__(self, *, status: int = 204, location: str = "") -> None:
        self.paths: list[str] = []
        self.status, self.location = status, location
        self._lock = threading.Lock()
        app = FastAPI()
        app.post("/hook")(self._receive)
        app.post("/landed")(self._receive)
        self.server = AppServer(app)

    async def _receive(self, request: Request) -> Response:
        with self._lock:
            self.paths.append(request.url.path)
        headers = {"location": self.location} if self.location else {}
        return Response(status_code=self.status, headers=headers)

    def url(self, host: str, path: str = "/hook") -> str:
        return f"http://{host}:{self.server.port}{path}"


@pytest.fixture(scope="module")
def settings(servers: Servers, namespace: str, service_env: dict[str, str]) -> NotifySettings:
    create_topics(env=service_env)
    return notify_settings(servers=servers, namespace=namespace, webhook_allow_private_targets=False,
                           webhook_private_hosts=[RELAY], webhook_timeout_s=2.0, retry_base_s=0.2,
                           retry_max_delay_s=0.4, retry_horizon_s=HORIZON_S)


@pytest.fixture(scope="module")
def app(settings: NotifySettings) -> Iterator[TestClient]:
    async def resolver(host: str, _port: int) -> list[Any]:
        if host not in DNS:
            raise webhook_targets.TargetRefused(f"host {host!r} does not resolve", "无法解析")
        return [ipaddress.ip_address(DNS[host])]

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(webhook_targets, "resolve_host", resolver)
        with running_notify(settings) as client:
            yield client


@pytest.fixture
def endpoint(request: pytest.FixtureRequest) -> Iterator[Endpoint]:
    made = Endpoint(**getattr(request, "param", {}))
    made.server.start()
    yield made
    made.server.stop()


def partner(settings: NotifySettings, platform: str) -> dict[str, str]:
    return token(settings, subject=f"{platform}-integration", role="partner", platform=platform)


def subscribe(app: TestClient, settings: NotifySettings, platform: str, url: str) -> dict[str, Any]:
    made = app.post("/v1/subscriptions", json={"url": url}, headers=partner(settings, platform))
    assert made.status_code == 201, made.text
    return made.json()


def file_for(settings: NotifySettings, platform: str) -> dict[str, Any]:
    """File a complaint on the platform; its webhook delivery once planned."""
    event = complaint_filed(platform=platform)
    publish(settings, topic=settings.topics.intake_events, events=[event])
    return wait_until(lambda: store(settings).notifications.find_one(
        {"complaint_id": event.complaint_id, "channel": "webhook"}), timeout=30, what="the webhook delivery")


def settled(settings: NotifySettings, delivery: dict[str, Any], *, timeout: float = 30) -> dict[str, Any]:
    """The delivery once it is no longer pending."""
    return wait_until(lambda: store(settings).notifications.find_one({"_id": delivery["_id"], "state": {
        "$ne": "pending"}}), timeout=timeout, what=f"delivery {delivery['_id']} settled")


def attempts(settings: NotifySettings, delivery: dict[str, Any]) -> list[dict[str, Any]]:
    return logged_attempts(store(settings), [delivery["_id"]])


@pytest.mark.parametrize("endpoint", [{"status": 500}], indirect=True)
def test_a_delete_stops_sends_at_once(app: TestClient, settings: NotifySettings, endpoint: Endpoint) -> None:
    sub = subscribe(app, settings, "sg-delete", endpoint.url(RELAY))
    delivery = file_for(settings, "sg-delete")
    wait_until(lambda: endpoint.paths, timeout=30, what="the first (failing) send")

    assert app.delete(f"/v1/subscriptions/{sub['id']}", headers=partner(settings, "sg-delete")).status_code == 204
    done = settled(settings, delivery)

    tries = attempts(settings, delivery)
    assert done["state"] == "failed" and done["last_error"] == "the subscription was deleted"
    assert tries[-1].get("status_code") is None  # the retry due after the delete read the subscription and stopped
    sent = [t for t in tries if t.get("status_code") is not None]
    assert [t["status_code"] for t in sent] == [500] * len(sent)
    assert len(endpoint.paths) == len(sent)  # every request the receiver got was a send before the delete


def test_a_host_that_now_resolves_to_a_private_address_is_refused_before_the_send(
        app: TestClient, settings: NotifySettings, endpoint: Endpoint) -> None:
    host = "hooks.sg-rebind.test"
    DNS[host] = "93.184.215.14"  # public when subscribing (nothing connects to it)
    sub = subscribe(app, settings, "sg-rebind", endpoint.url(host))
    DNS[host] = "127.0.0.1"  # where the receiver listens: a send would reach it
    try:
        done = settled(settings, file_for(settings, "sg-rebind"))
        ping = app.post(f"/v1/subscriptions/{sub['id']}/test", headers=partner(settings, "sg-rebind"))
    finally:
        del DNS[host]

    assert done["state"] == "failed" and "127.0.0.1" in done["last_error"]
    assert ping.status_code == 422 and "webhook_target" in ping.text
    assert endpoint.paths == []  # refused before connecting, both times


@pytest.mark.parametrize("endpoint", [{"status": 307, "location": "/landed"}], indirect=True)
def test_a_redirect_is_not_followed(app: TestClient, settings: NotifySettings, endpoint: Endpoint) -> None:
    subscribe(app, settings, "sg-redirect", endpoint.url(RELAY))
    delivery = file_for(settings, "sg-redirect")
    wait_until(lambda: len(attempts(settings, delivery)) >= 2, timeout=30, what="a send and its retry")

    assert store(settings).notifications.find_one({"_id": delivery["_id"]})["state"] != "delivered"
    assert {t.get("status_code") for t in attempts(settings, delivery)} == {307}
    assert "/landed" not in endpoint.paths and endpoint.paths[0] == "/hook"


@pytest.mark.parametrize("endpoint", [{"status": 503}], indirect=True)
def test_a_delivery_that_keeps_failing_ends_failed_at_the_retry_horizon(
        app: TestClient, settings: NotifySettings, endpoint: Endpoint) -> None:
    subscribe(app, settings, "sg-horizon", endpoint.url(RELAY))
    delivery = file_for(settings, "sg-horizon")
    done = settled(settings, delivery, timeout=HORIZON_S + 30)

    tries = attempts(settings, delivery)
    assert done["state"] == "failed" and "HTTP 503" in done["last_error"]
    assert 2 <= len(tries) < settings.retry_max_attempts  # the horizon ended it, not the attempt count
    span = tries[-1]["started_at"] - tries[0]["started_at"]
    assert timedelta(seconds=HORIZON_S - 0.1) <= span <= timedelta(seconds=HORIZON_S + 2)  # tried up to the end
    assert len(endpoint.paths) == len(tries)
