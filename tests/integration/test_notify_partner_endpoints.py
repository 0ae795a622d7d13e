"""Partner endpoints in planning: the list is read once per max age, and local changes count at once."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from services.notify.config import NotifySettings
from shared.envelope import utcnow
from tests.support.notify_harness import complaint_filed, notify_settings, publish, running_notify, store, token
from tests.support.servers import Servers
from tests.support.store_commands import COMMANDS
from tests.support.suite import create_topics
from tests.support.waiting import wait_until

pytestmark = pytest.mark.integration
HOOK = "http://127.0.0.1:9/hook"  # nothing listens: the intents are what these tests look at


@pytest.fixture(scope="module")
def settings(servers: Servers, namespace: str, service_env: dict[str, str]) -> NotifySettings:
    create_topics(env=service_env)
    return notify_settings(servers=servers, namespace=namespace, subscriptions_max_age_s=3600)


@pytest.fixture(scope="module")
def app(settings: NotifySettings) -> Iterator[TestClient]:
    with running_notify(settings) as client:
        yield client


def file(settings: NotifySettings, platform: str) -> list[dict[str, Any]]:
    """Publish a filing and wait until notify planned it; its webhook intents."""
    event = complaint_filed(platform=platform)
    publish(settings, topic=settings.topics.intake_events, events=[event])
    notifications = store(settings).notifications
    wait_until(lambda: notifications.find_one({"complaint_id": event.complaint_id}), what="the filing planned")
    return list(notifications.find({"complaint_id": event.complaint_id, "channel": "webhook"}))


def test_events_of_one_platform_read_its_subscriptions_once(app: TestClient, settings: NotifySettings) -> None:
    partner = token(settings, subject="p-once", role="partner", platform="p-once")
    app.post("/v1/subscriptions", json={"url": HOOK}, headers=partner).raise_for_status()
    # Planning asks for a platform's subscriptions (the sender's reads ask for one by id).
    with COMMANDS.counting(lambda command: "platform" in command.get("filter", {})) as seen:
        intents = [file(settings, "p-once") for _ in range(6)]
    assert [len(i) for i in intents] == [1] * 6
    assert seen[("find", "subscriptions")] == 1, seen


def test_a_subscription_made_or_deleted_here_counts_from_the_next_event(app: TestClient,
                                                                        settings: NotifySettings) -> None:
    partner = token(settings, subject="p-local", role="partner", platform="p-local")
    assert file(settings, "p-local") == []  # the platform's (empty) list is now kept for an hour
    sub = app.post("/v1/subscriptions", json={"url": HOOK}, headers=partner).json()
    assert [i["subscription_id"] for i in file(settings, "p-local")] == [sub["id"]]
    app.delete(f"/v1/subscriptions/{sub['id']}", headers=partner).raise_for_status()
    assert file(settings, "p-local") == []


def test_a_subscription_made_through_another_instance_counts_once_the_list_is_old(
        servers: Servers, namespace: str, service_env: dict[str, str]) -> None:
    fresh = notify_settings(servers=servers, namespace=namespace, subscriptions_max_age_s=1,
                            mongodb_db=f"{namespace}_notify_elsewhere", consumer_group=f"{namespace}-notify-elsewhere")
    with running_notify(fresh):
        assert file(fresh, "p-elsewhere") == []
        # Another notify instance stores it: this one has not heard of it.
        store(fresh).subscriptions.insert_one({
            "_id": "sub_made_elsewhere", "platform": "p-elsewhere", "owner": "p-elsewhere-ops", "url": HOOK,
            "event_types": [], "description": "", "secrets": [{"value": "whsec_" + "A" * 43, "created_at": utcnow()}],
            "health": {}, "created_at": utcnow()})
        intents = wait_until(lambda: file(fresh, "p-elsewhere"), timeout=20, what="an event planned for it")
        assert [i["subscription_id"] for i in intents] == ["sub_made_elsewhere"]
