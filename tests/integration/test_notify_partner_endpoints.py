"""Partner endpoints in planning: the list is read once per max age, and local changes count at once."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from services.notify.config import NotifySettings
from tests.support.notify_harness import HOOK, file, notify_settings, running_notify, token
from tests.support.servers import Servers
from tests.support.store_commands import COMMANDS
from tests.support.suite import create_topics

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def settings(servers: Servers, namespace: str, service_env: dict[str, str]) -> NotifySettings:
    create_topics(env=service_env)
    return notify_settings(servers=servers, namespace=namespace, subscriptions_max_age_s=3600)


@pytest.fixture(scope="module")
def app(settings: NotifySettings) -> Iterator[TestClient]:
    with running_notify(settings) as client:
        yield client


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
