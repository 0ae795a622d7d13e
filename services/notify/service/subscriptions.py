"""Partner webhook subscriptions: create, list, delete, rotate secrets, resume, delivery log, redelivery."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from services.notify import repository
from services.notify.domain.recipients import AUDIENCE
from services.notify.domain.webhook_secrets import SigningSecret, create_secret, rotate_secrets
from services.notify.models import Subscription
from shared.contracts.vocabulary import Role
from shared.envelope import new_id, utcnow

#: Event types a partner can receive (the filter accepts only these).
PARTNER_EVENTS = sorted(t for t, roles in AUDIENCE.items() if Role.PARTNER in roles)


@dataclass(frozen=True)
class Endpoint:
    """What planning needs of a live subscription (its URL and filter never change after creation)."""

    id: str
    url: str
    event_types: frozenset[str]


class LiveEndpoints:
    """Each platform's live subscriptions, read from the store at most once per `max_age_s`.

    Every event a partner may hear about needs them, so a read per event would be one of the most
    frequent commands of the whole system. A subscription made or deleted through this process is
    seen at once; one made through another instance within `max_age_s`. A delivery to a deleted
    subscription still fails at send time (the sender reads it first), so nothing goes out after a delete.
    One per service, built in main.py.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        # By (database, platform): one process may serve more than one database (tests do).
        self._read: dict[tuple[str, str], tuple[float, tuple[Endpoint, ...]]] = {}
        self._changes = 0  # bumped by every local create or delete: a read begun before one is not kept

    def of(self, platform: str, *, max_age_s: float) -> tuple[Endpoint, ...]:
        """The platform's live endpoints, oldest first."""
        key = (repository.database_name(), platform)
        with self._lock:
            kept = self._read.get(key)
            changes = self._changes
        if kept is not None and time.monotonic() - kept[0] < max_age_s:
            return kept[1]
        started = time.monotonic()
        endpoints = tuple(Endpoint(id=s.id, url=s.url, event_types=frozenset(s.event_types or ()))
                          for s in repository.list_endpoints(platform=platform))
        with self._lock:
            if self._changes == changes:
                self._read[key] = (started, endpoints)
        return endpoints

    def changed(self) -> None:
        """A subscription was made or deleted here: read again on the next event."""
        with self._lock:
            self._changes += 1
            self._read.clear()


def create_subscription(*, platform: str, owner: str, url: str, event_types: list[str], description: str,
                        endpoints: LiveEndpoints) -> tuple[Subscription, str]:
    """Store a subscription with a fresh secret; the secret is returned once and never shown again."""
    now = utcnow()
    secret = create_secret()
    subscription = Subscription(id=f"sub_{new_id()[:20]}", platform=platform, owner=owner, url=url,
                                event_types=sorted(set(event_types)), description=description,
                                secrets=[SigningSecret(value=secret, created_at=now).model_dump()],
                                health={}, created_at=now)
    repository.create_subscription(subscription=subscription)
    endpoints.changed()
    return subscription, secret


def list_subscriptions(*, platform: str) -> list[Subscription]:
    """The platform's live subscriptions, oldest first."""
    return repository.list_subscriptions(platform=platform)


def get_subscription(*, platform: str, subscription_id: str) -> Subscription | None:
    """One live subscription of the platform, or None (other platforms' ones do not exist for the caller)."""
    return repository.get_subscription(platform=platform, subscription_id=subscription_id)


def delete_subscription(*, subscription: Subscription, endpoints: LiveEndpoints) -> None:
    """Stop deliveries to it; pending ones fail with the reason on their next turn."""
    repository.delete_subscription(subscription_id=subscription.id, at=utcnow())
    endpoints.changed()


def rotate_secret(*, subscription: Subscription, grace: timedelta) -> str:
    """Add a new signing secret; the old ones keep signing for the grace period."""
    now = utcnow()
    current = [SigningSecret(**s) for s in subscription.secrets]
    rotated = rotate_secrets(secrets=current, now=now, grace=grace)
    repository.update_secrets(subscription_id=subscription.id, secrets=[s.model_dump() for s in rotated])
    return rotated[0].value


def pause_subscription(*, subscription: Subscription) -> None:
    """Hold deliveries to it (e.g. during the partner's maintenance) until resumed; nothing is lost."""
    repository.update_paused(subscription_id=subscription.id, at=utcnow())


def count_pending(*, subscription: Subscription) -> int:
    """Deliveries still to be made to it (held while paused)."""
    return repository.count_pending(subscription_id=subscription.id)


def resume_subscription(*, subscription: Subscription) -> None:
    """Clear the pause and the failure count; held deliveries go out again."""
    repository.update_resumed(subscription_id=subscription.id)


def list_deliveries(*, subscription: Subscription, limit: int = 100) -> list[dict[str, Any]]:
    """The delivery log: each delivery, newest first, with every attempt (status, latency, error)."""
    docs = repository.list_webhook_deliveries(subscription_id=subscription.id, limit=limit)
    attempts: dict[str, list[dict[str, Any]]] = {d.id: [] for d in docs}
    for a in repository.list_attempts(delivery_ids=list(attempts)):
        attempts[a.delivery_id].append({"number": a.number, "started_at": a.started_at, "ok": a.ok,
                                        "status_code": a.status_code, "latency_ms": a.latency_ms,
                                        "error": a.error})
    return [{"id": d.id, "event_id": d.event_id, "event_type": d.event_type, "ticket": d.ticket,
             "state": d.state, "attempts": attempts[d.id], "next_attempt_at": d.next_attempt_at
             if d.state == "pending" else None, "delivered_at": d.delivered_at, "created_at": d.created_at}
            for d in docs]


def redeliver(*, subscription: Subscription, delivery_id: str) -> bool:
    """Queue one delivery again at once (same webhook-id, so the partner can drop a copy it has)."""
    return repository.update_redeliver(delivery_id=delivery_id, subscription_id=subscription.id, now=utcnow())
