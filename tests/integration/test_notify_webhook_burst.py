"""A burst of webhook deliveries on the real store: each reaches the partner once under its own
webhook-id, and the worker claims and settles them in batches (a handful of store commands for the
whole burst, not a few per delivery, and one statement for the deliveries settled together)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator

import pytest

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
        wait_until(lambda: notifications.count_documents({"subscription_id": sub, "state": "pending"}) == BURST,
                   timeout=120, what=f"{BURST} webhook intents recorded while paused")
        intents = {doc["_id"] for doc in notifications.find({"subscription_id": sub}, {"_id": 1})}

        with COMMANDS.counting() as seen:
            assert app.post(f"/v1/subscriptions/{sub}/resume", headers=partner).status_code in (200, 204)
            requests = receiver.wait_for(count=BURST, timeout=120)
            wait_until(lambda: notifications.count_documents({"subscription_id": sub, "state": "delivered"})
                       == BURST, timeout=60, what="every delivery settled")
        counted = Counter(seen)

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
