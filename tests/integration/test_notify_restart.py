"""A restart mid-send finishes the send: the intent survives, its lease runs out, the new process sends it."""

from __future__ import annotations

import asyncio
import threading

import pytest
from fastapi import FastAPI, Request, Response

from tests.support.notify_harness import complaint_filed, notify_settings, publish, running_notify, store, token
from tests.support.servers import Servers
from tests.support.sms_provider import AppServer
from tests.support.suite import create_topics
from tests.support.waiting import wait_until

pytestmark = pytest.mark.integration


class StallingReceiver:
    """Never answers its first request (the sender dies waiting); answers 204 to every later one."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, bytes]] = []
        self.answered: list[str] = []
        self._lock = threading.Lock()
        app = FastAPI()
        app.post("/hook")(self._receive)
        self._server = AppServer(app)

    async def _receive(self, request: Request) -> Response:
        body = await request.body()
        with self._lock:
            self.seen.append((request.headers["webhook-id"], body))
            first = len(self.seen) == 1
        if first:
            await asyncio.sleep(120)
        with self._lock:
            self.answered.append(request.headers["webhook-id"])
        return Response(status_code=204)

    @property
    def url(self) -> str:
        return f"{self._server.base_url}/hook"

    def start(self) -> StallingReceiver:
        self._server.start()
        return self

    def stop(self) -> None:
        self._server.stop()


def test_a_send_cut_by_a_restart_completes_once_after_it(servers: Servers, namespace: str,
                                                        service_env: dict[str, str]) -> None:
    create_topics(env=service_env)
    settings = notify_settings(servers=servers, namespace=namespace, webhook_timeout_s=60, delivery_lease_s=3)
    partner = token(settings, subject="p-restart-integration", role="partner", platform="p-restart")
    receiver = StallingReceiver().start()
    try:
        with running_notify(settings) as app:
            sub = app.post("/v1/subscriptions", json={"url": receiver.url}, headers=partner).json()
            publish(settings, topic=settings.topics.intake_events, events=[complaint_filed(platform="p-restart")])
            wait_until(lambda: receiver.seen, timeout=30, what="the send to start")
        # The process is gone mid-send: the intent is recorded, no outcome is.
        [intent] = list(store(settings).notifications.find({"subscription_id": sub["id"]}))
        assert intent["state"] == "pending" and intent["attempts"] == 0
        assert receiver.answered == []

        with running_notify(settings) as app:
            log = wait_until(lambda: [d for d in app.get(f"/v1/subscriptions/{sub['id']}/deliveries",
                                                         headers=partner).json()["items"]
                                      if d["state"] == "delivered"], timeout=30, what="the resumed send")
        assert len(log) == 1 and [a["ok"] for a in log[0]["attempts"]] == [True]
        assert receiver.answered == [intent["_id"]]  # one completed delivery, under the intent's webhook-id
        assert {webhook_id for webhook_id, _ in receiver.seen} == {intent["_id"]}
        assert len({body for _, body in receiver.seen}) == 1
    finally:
        receiver.stop()


def test_notify_stopped_and_started_again_and_again_consumes_each_time(servers: Servers, namespace: str,
                                                                      service_env: dict[str, str]) -> None:
    """Each new process gets every partition of its three topics.

    With one group for all three topics, a process's members left together and Tansu 0.6 now and
    then kept the departed leader: the next process never got its partitions (about 1 start in 4).
    Members of a group's first generation (Tansu numbers it 0) did not leave at all (aiokafka leaves
    from generation 1 on): the second start's members joined under the departed leader and waited
    for its session to run out, now and then for ever (shared.bus.membership).
    """
    topics = create_topics(env=service_env)
    settings = notify_settings(servers=servers, namespace=namespace, consumer_group=f"{namespace}-notify-restarts",
                               mongodb_db=f"{namespace}_notify_restarts")
    every_partition = list(range(topics.partitions))
    for start in range(5):
        with running_notify(settings) as app:
            wait_until(lambda: [c["partitions"] for c in app.get("/readyz").json()["consumers"]]
                       == [every_partition] * 3, timeout=30, what=f"start {start + 1}: all partitions assigned")
