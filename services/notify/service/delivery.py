"""Which due deliveries a worker takes next, and one send of a taken delivery."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from datetime import datetime, timedelta

from services.notify import repository
from services.notify.adapters.senders import Outcome, Senders
from services.notify.models import Notification, Subscription
from shared.envelope import utcnow


class Claimed(list[Notification]):
    """The deliveries a claim took, with their endpoints as read for the claim (`endpoints`, by id):
    every send of the batch uses them instead of reading its subscription again."""

    def __init__(self, docs: list[Notification], endpoints: Mapping[str, Subscription] | None = None, *,
                 contended: bool = False, capped: bool = False) -> None:
        super().__init__(docs)
        self.endpoints: dict[str, Subscription] = dict(endpoints or {})
        #: Another worker leased some of the deliveries this claim chose first: claim again at once.
        self.contended = contended
        #: Due deliveries were left because their endpoint had no room: claim again once it has.
        self.capped = capped


def claim(*, channel: str, lease: timedelta, slots: int, in_flight: Counter[str], per_endpoint: int,
          endpoint_caps: Mapping[str, int] | None = None, now: datetime | None = None,
          own: str | None = None) -> Claimed:
    """Lease up to `slots` due pending deliveries of a channel in one read and one write, the
    earliest first; paused, backed-off and full endpoints wait (an endpoint takes up to its cap in
    `endpoint_caps`, else `per_endpoint`, counting those `in_flight`). `contended` on the result:
    another worker leased some of those chosen between this claim's read and its write; `capped`:
    due deliveries were left because their endpoint was full.

    `own`: this process's hand-over token. The deliveries it recorded and handed to itself (then
    released, their endpoint paused, or left to a claim) come first, the earliest first, then any
    other's. Two notify processes each take back their own backlog first instead of racing for the
    same earliest deliveries; one that has none left takes the other's."""
    now = now or utcnow()
    candidates = repository.list_due(channel=channel, now=now)
    if own is not None:
        candidates = [due for due in candidates if due.lease_token == own] + [
            due for due in candidates if due.lease_token != own]
    wanted = {due.subscription_id for due in candidates if due.subscription_id}
    endpoints = repository.list_endpoints_by_id(ids=wanted) if wanted else {}
    held = {sub_id for sub_id, sub in endpoints.items() if held_endpoint(sub, now)}
    taken: list[str] = []
    room = Counter(in_flight)
    caps = endpoint_caps or {}
    capped = False
    for due in candidates:
        if due.lease_until > now or due.subscription_id in held:
            continue  # being sent by someone, or its endpoint is paused or backing off
        endpoint = due.subscription_id or channel
        if channel == "webhook" and room[endpoint] >= caps.get(endpoint, per_endpoint):
            capped = True
            continue
        room[endpoint] += 1
        taken.append(due.id)
        if len(taken) >= slots:
            break
    if not taken:
        return Claimed([], capped=capped)
    docs = repository.update_leases(ids=taken, now=now, lease=lease)
    return Claimed(docs, {d.subscription_id: endpoints[d.subscription_id] for d in docs
                          if d.subscription_id in endpoints}, contended=len(docs) < len(taken), capped=capped)


def held_endpoint(subscription: Subscription, now: datetime) -> bool:
    """Paused, or still backing off at now (backoff_until is None once it answers again)."""
    backoff_until = (subscription.health or {}).get("backoff_until")
    return subscription.paused_at is not None or (backoff_until or now) > now


async def send(doc: Notification, *, senders: Senders, subscription: Subscription | None = None) -> Outcome:
    """Attempt one taken delivery (a webhook with the subscription read at its claim); the outcome."""
    return await senders.send(doc=doc, subscription=subscription)
