"""Partner webhook subscriptions: create, change, list, delete, rotate secrets, resume, delivery log, redelivery."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from cloudevents.core.formats.json import JSONFormat
from cloudevents.core.v1.event import CloudEvent

from services.notify import repository
from services.notify.adapters.webhook_targets import resolve_target
from services.notify.adapters.webhooks import deliver
from services.notify.domain.cursors import decode_cursor, encode_cursor, utc
from services.notify.domain.recipients import AUDIENCE
from services.notify.domain.webhook_secrets import SigningSecret, active_secrets, create_secret, rotate_secrets
from services.notify.models import Notification, Subscription
from services.notify.repository import subscriptions as stored
from shared.contracts.vocabulary import Role
from shared.envelope import new_id, utcnow

#: Event types a partner can receive (the filter accepts only these).
PARTNER_EVENTS = sorted(t for t, roles in AUDIENCE.items() if Role.PARTNER in roles)


@dataclass(frozen=True)
class Endpoint:
    """What planning needs of a live subscription (a change of its filter is seen like a create)."""

    id: str
    url: str
    event_types: frozenset[str]


class LiveEndpoints:
    """Each platform's live subscriptions, read from the store at most once per `max_age_s`.

    Every event a partner may hear about needs them, so a read per event would be one of the most
    frequent commands of the whole system. A subscription made or deleted through this process is
    seen at once; one made (or its filter changed) through another instance within `max_age_s`. A delivery to a deleted
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
        """A subscription was made, changed or deleted here: read again on the next event."""
        with self._lock:
            self._changes += 1
            self._read.clear()


def create_subscription(*, platform: str, owner: str, url: str, event_types: list[str], description: str,
                        endpoints: LiveEndpoints, contact_email: str | None = None,
                        secret_grace_s: float | None = None) -> tuple[Subscription, str]:
    """Store a subscription with a fresh secret; the secret is returned once and never shown again."""
    now = utcnow()
    secret = create_secret()
    subscription = Subscription(id=f"sub_{new_id()[:20]}", platform=platform, owner=owner, url=url,
                                event_types=sorted(set(event_types)), description=description,
                                contact_email=contact_email, secret_grace_s=secret_grace_s,
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


def update_subscription(*, subscription: Subscription, changes: dict[str, Any],
                        endpoints: LiveEndpoints) -> Subscription | None:
    """Change a subscription's URL (checked by the caller), event types, description, contact or grace;
    its secrets stay. None when it was deleted meanwhile."""
    if "event_types" in changes:
        changes["event_types"] = sorted(set(changes["event_types"]))
    updated = stored.update_subscription(subscription_id=subscription.id, changes=changes | {"updated_at": utcnow()})
    endpoints.changed()
    return updated


def grace_of(*, subscription: Subscription, asked_s: float | None, default_s: float) -> timedelta:
    """How long rotated-out secrets keep signing: as asked, else the subscription's own, else the setting."""
    chosen = asked_s if asked_s is not None else subscription.secret_grace_s
    return timedelta(seconds=default_s if chosen is None else chosen)


def rotate_secret(*, subscription: Subscription, grace: timedelta) -> str:
    """Add a new signing secret; the old ones keep signing for the grace period (every delivery and
    ping meanwhile carries one `v1,` signature per live secret), then only the new one."""
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
    attempts = repository.list_attempts(deliveries=docs)
    return [{"id": d.id, "event_id": d.event_id, "event_type": d.event_type, "ticket": d.ticket,
             "state": d.state, "attempts": attempts[d.id], "next_attempt_at": d.next_attempt_at
             if d.state == "pending" else None, "delivered_at": d.delivered_at, "created_at": d.created_at}
            for d in docs]


def redeliver(*, subscription: Subscription, delivery_id: str) -> bool:
    """Queue one delivery again at once (same webhook-id, so the partner can drop a copy it has)."""
    return repository.update_redeliver(delivery_id=delivery_id, subscription_id=subscription.id, now=utcnow())


@dataclass(frozen=True)
class LogPage:
    """One page of the delivery log, newest first; the cursor of the next page (None: no more)."""

    items: list[dict[str, Any]]
    next_cursor: str | None


def list_delivery_page(*, subscription: Subscription, states: set[str], since: datetime | None,
                       until: datetime | None, limit: int, cursor: str | None) -> LogPage:
    """The delivery log filtered by state and creation time [since, until), newest first, by cursor."""
    before = decode_cursor(cursor) if cursor else None
    keys = sorted(((utc(k["created_at"]), k["_id"]) for k in stored.list_delivery_keys(subscription_id=subscription.id)
                   if k.get("channel") == "webhook" and (not states or k.get("state") in states)), reverse=True)
    keys = [k for k in keys if (since is None or k[0] >= since) and (until is None or k[0] < until)
            and (before is None or k < before)]
    page = keys[:limit]
    docs = {d.id: d for d in stored.get_deliveries(ids=[i for _, i in page])}
    attempts = repository.list_attempts(deliveries=list(docs.values()))
    items = [_log_entry(docs[i], attempts[i]) for _, i in page if i in docs]
    more = len(keys) > limit
    return LogPage(items=items, next_cursor=encode_cursor(moment=page[-1][0], item_id=page[-1][1]) if more else None)


def _log_entry(d: Notification, attempts: list[dict[str, Any]]) -> dict[str, Any]:
    return {"id": d.id, "webhook_id": d.id, "event_id": d.event_id, "event_type": d.event_type, "ticket": d.ticket,
            "state": d.state, "attempts": attempts,
            "next_attempt_at": d.next_attempt_at if d.state == "pending" else None,
            "delivered_at": d.delivered_at, "created_at": d.created_at}


#: The type of the test event a partner asks for (`POST /v1/subscriptions/{id}/test`).
PING_TYPE = "org.complaints-suite.webhook.ping.v1"


def ping_body(*, subscription: Subscription, ping_id: str, now: datetime) -> str:
    """The test event: a CloudEvent (built with the CloudEvents SDK) naming the subscription, no complaint."""
    event = CloudEvent(attributes={
        "id": ping_id, "source": "urn:complaints-suite:notify", "type": PING_TYPE, "subject": subscription.id,
        "time": now, "datacontenttype": "application/json"},
        data={"subscription_id": subscription.id, "url": subscription.url,
              "summary": {"zh-CN": "回调测试：此地址可以接收并验证签名的事件。",
                          "en": "Webhook test: this endpoint can receive and verify signed events."}})
    return JSONFormat().write(event).decode("utf-8")


@dataclass(frozen=True)
class PingOutcome:
    """What a test delivery did: the delivery (in the log), the answer or why there was none."""

    delivery_id: str
    status_code: int | None
    latency_ms: int
    error: str | None

    @property
    def ok(self) -> bool:
        """True for a 2xx answer."""
        return self.error is None and self.status_code is not None and 200 <= self.status_code < 300

    @property
    def timed_out(self) -> bool:
        """True when the endpoint did not answer in time."""
        return self.error is not None and ("timed out" in self.error or "Timeout" in self.error)


async def ping(*, subscription: Subscription, allow_private: bool, timeout_s: float,
               private_hosts: Collection[str] = ()) -> PingOutcome:
    """Send a signed test event now (not queued, no retry) and log it; TargetRefused if the URL now
    points somewhere it may not. The endpoint's health is not touched: a test is not traffic."""
    now = utcnow()
    ping_id = f"msg_{new_id()[:24]}"
    target = await resolve_target(url=subscription.url, allow_private=allow_private, private_hosts=private_hosts)
    body = ping_body(subscription=subscription, ping_id=ping_id, now=now)
    secrets = active_secrets(secrets=[SigningSecret(**s) for s in subscription.secrets], now=now)
    attempt = await deliver(url=target.url, msg_id=ping_id, body=body.encode("utf-8"), secrets=secrets,
                            timeout=timeout_s, now=now, address=target.address)
    error = None if attempt.ok else (attempt.error or f"HTTP {attempt.status_code}")
    doc = Notification(
        id=ping_id, event_id=ping_id, event_type=PING_TYPE, platform=subscription.platform,
        recipient_key=f"{subscription.platform}:partner:{subscription.id}", recipient_id=subscription.id,
        recipient_role="partner", channel="webhook", language="zh-CN", address=subscription.url,
        subscription_id=subscription.id, subject=PING_TYPE, body=PING_TYPE, payload=body,
        state="delivered" if attempt.ok else "failed", attempts=1, first_attempt_at=attempt.started_at,
        next_attempt_at=now, lease_until=now, last_error=error, created_at=now,
        delivered_at=utcnow() if attempt.ok else None)
    logged = {"delivery_id": ping_id, "number": 1, "channel": "webhook", "started_at": attempt.started_at,
              "status_code": attempt.status_code, "latency_ms": attempt.latency_ms, "error": error, "ok": attempt.ok}
    await asyncio.to_thread(stored.create_sent, doc=doc, attempt=logged, now=now)
    return PingOutcome(delivery_id=ping_id, status_code=attempt.status_code, latency_ms=attempt.latency_ms,
                       error=error)


def paused_email(*, subscription: Subscription, subject: str, body: str, now: datetime,
                 email_on: bool) -> Notification | None:
    """The email telling a paused endpoint's contact (when it has one and email is on), to queue with the
    in-app notice; the worker sends it like any email (retries, same Message-ID)."""
    if not subscription.contact_email or not email_on:
        return None
    return Notification(
        id=f"paused-email:{subscription.id}:{now:%Y%m%dT%H%M%S%f}", event_id=f"paused:{subscription.id}",
        event_type="WebhookEndpointPaused", platform=subscription.platform,
        recipient_key=f"{subscription.platform}:partner:{subscription.owner}", recipient_id=subscription.owner,
        recipient_role="partner", channel="email", language="zh-CN", address=subscription.contact_email,
        subscription_id=None, subject=subject, body=body, state="pending", attempts=0, next_attempt_at=now,
        lease_until=now - timedelta(seconds=1), created_at=now)
