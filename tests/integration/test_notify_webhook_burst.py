"""A burst of webhook deliveries on the real store: each reaches the partner once under its own
webhook-id, and the worker claims and settles them in batches (a handful of store commands for the
whole burst, not a few per delivery, and one statement for the deliveries settled together). Sent as
their group commits, they are stored delivered by it; the broker delivering the same events again
sends nothing again."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Iterator

import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition

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
from tests.support.store_commands import COMMANDS
from tests.support.suite import create_topics
from tests.support.waiting import wait_until
from tests.support.webhook_receiver import WebhookReceiver

pytestmark = pytest.mark.integration
BURST = 120


@pytest.fixture(scope="module")
def settings(servers: Servers, namespace: str, service_env: dict[str, str]) -> NotifySettings:
    create_topics(env=service_env)
    return notify_settings(servers=servers, namespace=namespace)


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    server = WebhookReceiver().start()
    yield server
    server.stop()


def test_a_burst_is_delivered_once_each_under_its_id_with_batched_claims_and_settlements(
        settings: NotifySettings, receiver: WebhookReceiver) -> None:
    with running_notify(settings) as app:
        partner = token(settings, subject="p-burst-partner", role="partner", platform="p-burst")
        made = app.post("/v1/subscriptions", json={"url": receiver.url}, headers=partner)
        assert made.status_code == 201, made.text
        sub = made.json()["id"]
        # Held while the burst is recorded, so the whole burst is due at once when it resumes.
        assert app.post(f"/v1/subscriptions/{sub}/pause", headers=partner).status_code in (200, 204)
        events = [complaint_filed(platform="p-burst") for _ in range(BURST)]
        publish(settings, topic=settings.topics.intake_events, events=events)
        notifications = store(settings).notifications
        # What the partner is told is waiting for its endpoint, and what the store holds pending.
        wait_until(lambda: app.get(f"/v1/subscriptions/{sub}", headers=partner).json()["pending_deliveries"]
                   == BURST, timeout=120, what=f"{BURST} webhook intents recorded while paused")
        assert notifications.count_documents({"subscription_id": sub, "state": "pending"}) == BURST
        intents = {doc["_id"] for doc in notifications.find({"subscription_id": sub}, {"_id": 1})}

        with COMMANDS.counting() as seen:
            assert app.post(f"/v1/subscriptions/{sub}/resume", headers=partner).status_code in (200, 204)
            requests = receiver.wait_for(count=BURST, timeout=120)
            wait_until(lambda: notifications.count_documents({"subscription_id": sub, "state": "delivered"})
                       == BURST, timeout=60, what="every delivery settled")
        counted = Counter(seen)
        assert app.get(f"/v1/subscriptions/{sub}", headers=partner).json()["pending_deliveries"] == 0

    ids = Counter(request.headers["webhook-id"] for request in requests)
    assert set(ids) == intents  # every intent reached the partner, under its own id
    assert max(ids.values()) == 1, [i for i, n in ids.items() if n > 1]  # none twice
    delivered = list(notifications.find({"subscription_id": sub}, {"attempts": 1, "state": 1}))
    assert {(d["state"], d["attempts"]) for d in delivered} == {("delivered", 1)}
    logged = logged_attempts(store(settings), intents)
    assert Counter(one["delivery_id"] for one in logged) == Counter(intents)  # one attempt logged each

    # Batched: the claims read the due set a few times for the whole burst (not once per delivery),
    # leases and outcomes go out as a few bulk writes, the attempts as a few inserts.
    # (The test's own polling of the store is counted too: `find` and `count` of notifications.)
    updates = counted[("update", "notifications")]
    inserts = counted[("insert", "delivery_log")]
    assert updates <= BURST // 5, counted
    assert inserts <= BURST // 10, counted
    # A lease each (each guarded by its own state), and the deliveries settled together one statement
    # (they set the same changes): the store's fixed cost of a statement is paid per batch.
    statements = COMMANDS.statements[("update", "notifications")]
    assert BURST <= statements <= BURST + BURST // 5, COMMANDS.statements


def consumed_past(settings: NotifySettings, *, group: str, records: list[tuple[int, int]]) -> bool:
    """Whether the consumer group has committed past each of these (partition, offset) records."""

    async def check() -> bool:
        consumer = AIOKafkaConsumer(bootstrap_servers=settings.kafka_bootstrap_servers, group_id=group,
                                    enable_auto_commit=False)
        await consumer.start()
        try:
            for partition, offset in records:
                done = await consumer.committed(TopicPartition(settings.topics.intake_events, partition))
                if done is None or done <= offset:
                    return False
            return True
        finally:
            await consumer.stop()

    return asyncio.run(check())


def test_webhooks_go_out_as_their_group_commits_and_events_the_broker_delivers_again_send_nothing_again(
        servers: Servers, namespace: str, receiver: WebhookReceiver) -> None:
    # A group's commit waits up to 2 s for the webhooks it handed out (the default is 0.05 s: on a busy
    # test machine more would go out after the commit, and be settled after it, as on the claims' path).
    settings = notify_settings(servers=servers, namespace=namespace, webhook_early_wait_s=2.0)
    count = 40
    with running_notify(settings) as app:
        partner = token(settings, subject="p-twice-partner", role="partner", platform="p-twice")
        made = app.post("/v1/subscriptions", json={"url": receiver.url}, headers=partner)
        assert made.status_code == 201, made.text
        sub = made.json()["id"]
        events = [complaint_filed(platform="p-twice") for _ in range(count)]
        publish(settings, topic=settings.topics.intake_events, events=events)
        receiver.wait_for(count=count, timeout=60)
        notifications = store(settings).notifications
        wait_until(lambda: notifications.count_documents({"subscription_id": sub, "state": "delivered"})
                   == count, timeout=60, what="every delivery stored delivered")

        # The broker delivers the same records again (as after a consumer died before committing its poll).
        again = publish(settings, topic=settings.topics.intake_events, events=events)
        group = next(c["group"] for c in app.get("/readyz").json()["consumers"]
                     if c["topic"] == settings.topics.intake_events)
        wait_until(lambda: consumed_past(settings, group=group, records=again), timeout=60,
                   what="the repeated events consumed")

    ids = Counter(request.headers["webhook-id"] for request in receiver.requests)
    assert len(ids) == count and max(ids.values()) == 1, [i for i, n in ids.items() if n > 1]
    delivered = list(store(settings).notifications.find({"subscription_id": sub}, {"attempts": 1, "state": 1}))
    assert {(d["state"], d["attempts"]) for d in delivered} == {("delivered", 1)}
    logged = logged_attempts(store(settings), set(ids))
    assert Counter(one["delivery_id"] for one in logged) == Counter(ids)  # one attempt logged each
