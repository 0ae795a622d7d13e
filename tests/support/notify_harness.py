"""Helpers for notify's integration tests: settings on the test servers, events, tokens, the running app."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from fastapi.testclient import TestClient
from pymongo import MongoClient

from services.notify.config import NotifySettings
from services.notify.main import create_app
from shared.auth import mint_token
from shared.contracts.complaints import ComplaintFiled
from shared.envelope import Event, new_id
from shared.outbox import PackedRecords
from shared.topics import TopicSettings
from tests.support import kafka
from tests.support.servers import Servers
from tests.support.waiting import wait_until


def notify_settings(*, servers: Servers, namespace: str, **overrides: Any) -> NotifySettings:
    """Notify on the test servers under the module's namespace, with fast timers."""
    fields: dict[str, Any] = {
        "kafka_bootstrap_servers": servers.bootstrap, "mongodb_uri": servers.mongodb_uri,
        "mongodb_db": f"{namespace}_notify", "consumer_group": f"{namespace}-notify",
        "telemetry_db": f"{namespace}_telemetry", "topics": TopicSettings(prefix=f"{namespace}."),
        "kafka_session_timeout_ms": 3000, "kafka_heartbeat_interval_ms": 1000,
        "outbox_poll_interval_s": 0.2, "delivery_poll_s": 0.2, "reminder_poll_s": 0.2,
        "retry_base_s": 0.3, "webhook_allow_private_targets": True,
    }
    return NotifySettings(**(fields | overrides))


@contextmanager
def running_notify(settings: NotifySettings) -> Iterator[TestClient]:
    """The notify app in this process, connected, ready and consuming: every consumer has partitions
    (a test that publishes at once must not race its consumers' joins)."""
    with TestClient(create_app(settings)) as client:
        answers: list[Any] = []

        def ready() -> bool:
            answer = client.get("/readyz")
            answers[:] = [answer.json()]
            consumers = answer.json().get("consumers") or [{}]
            return answer.status_code == 200 and all(c.get("partitions") for c in consumers)

        wait_until(ready, timeout=120, what="notify ready", explain=lambda: f"last /readyz: {answers}")
        yield client


def token(settings: NotifySettings, *, subject: str, role: str, platform: str | None = "kamen-1",
          merchant_id: str | None = None) -> dict[str, str]:
    """Authorization header for a caller."""
    value = mint_token(secret=settings.auth_secret, subject=subject, role=role, platform=platform,
                       merchant_id=merchant_id)
    return {"Authorization": f"Bearer {value}"}


def complaint_filed(*, complainant: str = "u-2001", language: str = "zh-CN", email: str | None = None,
                    phone: str | None = None, platform: str = "kamen-1", merchant: str = "m-1001") -> ComplaintFiled:
    """A filed complaint as intake publishes it."""
    number = new_id()[:6]
    return ComplaintFiled(
        complaint_id=f"c-{new_id()[:12]}", ticket=f"CP-20261123-{int(number, 16) % 1_000_000:06d}",
        platform=platform, merchant={"id": merchant, "name": "星辰卡铺"},
        complainant={"id": complainant, "display_name": "小王", "email": email, "phone": phone,
                     "language": language},
        category="invalid-card-key", order={"order_number": "202611230001", "item": "100元游戏点卡",
                                            "amount": {"amount_minor": 10000, "currency": "CNY"}},
        demand={"type": "refund"}, filed_at=datetime.now(UTC))


def publish(settings: NotifySettings, *, topic: str, events: list[Event]) -> list[tuple[int, int]]:
    """Send events to a topic the way the producing services do (JSON, keyed by complaint)."""

    async def send_all() -> list[tuple[int, int]]:
        return [await kafka.send(bootstrap=settings.kafka_bootstrap_servers, topic=topic, value=e.encode(),
                                 key=e.key().encode()) for e in events]

    return asyncio.run(send_all())


def store(settings: NotifySettings) -> Any:
    """A direct handle on notify's database, to look at what it recorded."""
    return MongoClient(settings.mongodb_uri, tz_aware=True)[settings.mongodb_db]


def logged_attempts(db: Any, delivery_ids: Iterable[str]) -> list[dict[str, Any]]:
    """The attempts the delivery log holds for these deliveries, in the order they were made: from
    the log pages the deliveries name (raw documents, as the store holds them)."""
    wanted = set(delivery_ids)
    pages = {page for doc in db.notifications.find({"_id": {"$in": sorted(wanted)}}, {"log": 1})
             for page in doc.get("log") or ()}
    found = [one | {"started_at": datetime.fromisoformat(one["started_at"])}
             for page in db.delivery_log.find({"_id": {"$in": sorted(pages)}})
             for one in PackedRecords.to_python(page["attempts"]) if one["delivery_id"] in wanted]
    return sorted(found, key=lambda one: (one["delivery_id"], one["number"], one["started_at"]))


HOOK = "http://127.0.0.1:9/hook"  # nothing listens: for tests that look at the intents only


def file(settings: NotifySettings, platform: str) -> list[dict[str, Any]]:
    """Publish a filing and wait until notify planned it; its webhook intents."""
    event = complaint_filed(platform=platform)
    publish(settings, topic=settings.topics.intake_events, events=[event])
    notifications = store(settings).notifications
    wait_until(lambda: notifications.find_one({"complaint_id": event.complaint_id}), what="the filing planned")
    return list(notifications.find({"complaint_id": event.complaint_id, "channel": "webhook"}))
