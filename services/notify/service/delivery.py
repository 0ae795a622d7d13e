"""Which due deliveries a worker takes next, and one send of a taken delivery."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import datetime, timedelta

from services.notify import repository
from services.notify.adapters.senders import Outcome, Senders
from services.notify.models import Notification, Subscription
from shared.envelope import utcnow


def claim(*, channel: str, lease: timedelta, slots: int, in_flight: Counter[str], per_endpoint: int,
          now: datetime | None = None) -> list[Notification]:
    """Lease up to `slots` due pending deliveries of a channel; paused, backed-off and full endpoints wait."""
    now = now or utcnow()
    candidates = repository.list_due(channel=channel, now=now)
    endpoints = {due.subscription_id for due in candidates if due.subscription_id}
    held = repository.list_held_endpoints(ids=endpoints, now=now) if endpoints else set()
    taken: list[str] = []
    room = Counter(in_flight)
    for due in candidates:
        if due.lease_until > now or due.subscription_id in held:
            continue  # being sent by someone, or its endpoint is paused or backing off
        endpoint = due.subscription_id or channel
        if channel == "webhook" and room[endpoint] >= per_endpoint:
            continue
        room[endpoint] += 1
        taken.append(due.id)
        if len(taken) >= slots:
            break
    if not taken:
        return []
    return repository.update_leases(ids=taken, now=now, lease=lease)


async def send(doc: Notification, *, senders: Senders) -> tuple[Subscription | None, Outcome]:
    """Attempt one taken delivery (a webhook's subscription is read first); the subscription and the outcome."""
    subscription = None
    if doc.subscription_id:
        subscription = await asyncio.to_thread(repository.get_endpoint, subscription_id=doc.subscription_id)
    return subscription, await senders.send(doc=doc, subscription=subscription)
