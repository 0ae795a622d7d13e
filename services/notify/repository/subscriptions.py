"""Stored webhook subscriptions: partners' endpoints, their secrets, pause and health."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from services.notify.models import Notification, Subscription
from services.notify.repository.deliveries import create_log
from shared.store import UnitOfWork, database, run_transaction


def database_name() -> str:
    """The name of the database this process uses now (one process may serve more than one: tests do)."""
    return database().name


def create_subscription(*, subscription: Subscription) -> None:
    """Insert a new subscription (a taken id raises)."""
    subscription.save(force_insert=True)


def list_subscriptions(*, platform: str) -> list[Subscription]:
    """The platform's live subscriptions, oldest first."""
    return list(Subscription.objects(platform=platform, deleted_at=None).order_by("created_at"))


def list_endpoints(*, platform: str) -> list[Subscription]:
    """The platform's live subscriptions, oldest first, with only their id, URL and event types."""
    return list(Subscription.objects(platform=platform, deleted_at=None)
                .only("id", "url", "event_types").order_by("created_at"))


def get_subscription(*, platform: str, subscription_id: str) -> Subscription | None:
    """One live subscription of the platform, or None."""
    return Subscription.objects(id=subscription_id, platform=platform, deleted_at=None).first()


def get_endpoint(*, subscription_id: str) -> Subscription | None:
    """A subscription by id, deleted or not (a sender reads it before each send)."""
    return Subscription.objects(id=subscription_id).first()


def delete_subscription(*, subscription_id: str, at: datetime) -> None:
    """Mark a subscription deleted."""
    Subscription.objects(id=subscription_id).update_one(set__deleted_at=at)


def update_secrets(*, subscription_id: str, secrets: list[dict[str, Any]]) -> None:
    """Replace a subscription's signing secrets."""
    Subscription.objects(id=subscription_id).update_one(set__secrets=secrets)


def update_paused(*, subscription_id: str, at: datetime) -> None:
    """Pause a subscription unless it is paused already."""
    Subscription.objects(id=subscription_id, paused_at=None).update_one(set__paused_at=at)


def update_resumed(*, subscription_id: str) -> None:
    """Clear a subscription's pause and its health."""
    Subscription.objects(id=subscription_id).update_one(set__health={}, set__paused_at=None)


def get_health(tx: UnitOfWork, *, subscription_id: str) -> tuple[dict[str, Any], datetime | None]:
    """An endpoint's stored health and pause time, as of this transaction."""
    current = tx.collection(Subscription).find_one({"_id": subscription_id}, session=tx.session) or {}
    return current.get("health") or {}, current.get("paused_at")


def update_health(tx: UnitOfWork, *, subscription_id: str, health: dict[str, Any],
                  paused_at: datetime | None) -> None:
    """Store an endpoint's new health and pause time.

    Called only when the health changes: a write per delivery would make parallel deliveries to
    one endpoint conflict on this document."""
    tx.collection(Subscription).update_one({"_id": subscription_id},
                                           {"$set": {"health": health, "paused_at": paused_at}},
                                           session=tx.session)


def update_subscription(*, subscription_id: str, changes: dict[str, Any]) -> Subscription | None:
    """Apply changes to a live subscription; it as it is now, None when it was deleted meanwhile."""
    Subscription.objects(id=subscription_id, deleted_at=None).update_one(
        **{f"set__{field}": value for field, value in changes.items()})
    return Subscription.objects(id=subscription_id, deleted_at=None).first()


def list_delivery_keys(*, subscription_id: str) -> list[dict[str, Any]]:
    """Every delivery of an endpoint as (id, created_at, state, channel), for the log to page through.

    The filter names only what the inbox's index holds (see deliveries.endpoint_filter): a state or
    time condition next to it would make the embedded store read every delivery ever recorded
    (docs/architecture.md, Store notes)."""
    found = Notification._get_collection().find(
        {"recipient_role": "partner", "recipient_id": subscription_id},
        {"_id": 1, "created_at": 1, "state": 1, "channel": 1, "subscription_id": 1})
    return [doc for doc in found if doc.get("subscription_id") == subscription_id]


def get_deliveries(*, ids: list[str]) -> list[Notification]:
    """These deliveries, in no particular order."""
    return list(Notification.objects(id__in=ids))


def create_sent(*, doc: Notification, attempt: dict[str, Any], now: datetime) -> None:
    """Record a delivery made at once (a ping) with its one attempt, for the delivery log."""

    def work(tx: UnitOfWork) -> None:
        doc.log = [create_log(tx, attempts=[attempt], now=now)]
        tx.insert(doc)

    run_transaction(work)
