"""The partner events list: each partner-facing event recorded with its webhook body, listed by
cursor for reconciliation, and replayed to one subscription under the original webhook ids."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from services.notify.domain.cursors import decode_cursor, encode_cursor, utc
from services.notify.domain.notice import SHANGHAI, Channel, Language, Role
from services.notify.domain.recipients import DeliveryIntent
from services.notify.models import Notification, PartnerEvent, Subscription
from services.notify.repository import events_log as stored
from services.notify.service.planning import About, recipient_key
from shared.envelope import utcnow
from shared.store import UnitOfWork, row

#: Most events one replay sends: a longer range is replayed in parts.
REPLAY_MAX = 1000


class ReplayTooLarge(ValueError):
    """The range holds more events than one replay sends."""


def record(tx: UnitOfWork, *, about: About, own_key: bool = False) -> None:
    """Record a partner-facing event (one told under a public type) with the body its webhooks carry,
    in the transaction that plans it.

    `own_key`: it is recorded under its own event id (not a key two events share, as a freeze
    request's), so it may be packed with the group's others (repository.create_partner_event)."""
    if about.payload is None or about.public_type is None:
        return
    # A body told under a public type carries its own zh-CN/English summaries.
    stored.create_partner_event(tx, event=row(
        PartnerEvent, id=about.event_id, platform=about.platform, event_type=about.public_type,
        internal_type=about.event_type, complaint_id=about.complaint_id, ticket=about.ticket,
        occurred_at=about.notice.occurred_at, recorded_at=utcnow(), body=about.payload("")), packable=own_key)


@dataclass(frozen=True)
class Page:
    """One page of the events list; the cursor after its last item (to resume from, now or later)."""

    items: list[dict[str, Any]]
    next_cursor: str | None
    has_more: bool


def _wanted(event: PartnerEvent, types: set[str]) -> bool:
    return not types or event.event_type in types or event.internal_type in types


def list_events(*, platform: str, since: datetime | None, types: set[str], limit: int, cursor: str | None,
                settle_s: float, now: datetime | None = None) -> Page:
    """The platform's events recorded since `since` (or after the cursor), oldest first, up to `settle_s`
    before `now`: an event is stamped when its transaction records it, and a transaction of another
    consumer (or instance) may commit after one that recorded later. Listing only what is older than
    any such transaction keeps a cursor from passing an event that is not committed yet."""
    after = decode_cursor(cursor) if cursor else None
    start = max(filter(None, [since, after[0] if after else None]), default=None)
    until = (now or utcnow()) - timedelta(seconds=settle_s)
    page: list[PartnerEvent] = []
    more = False
    for event in stored.iter_partner_events(platform=platform, since=start, until=until):
        if not _wanted(event, types) or (after is not None and (utc(event.recorded_at), event.id) <= after):
            continue
        if len(page) == limit:
            more = True
            break
        page.append(event)
    last = encode_cursor(moment=utc(page[-1].recorded_at), item_id=page[-1].id) if page else cursor
    return Page(items=[view(e) for e in page], next_cursor=last, has_more=more)


def view(event: PartnerEvent) -> dict[str, Any]:
    """An event as the list shows it: the webhook body as sent, with when notify recorded it."""
    return {"id": event.id, "type": event.event_type, "ticket": event.ticket, "complaint_id": event.complaint_id,
            "occurred_at": event.occurred_at and utc(event.occurred_at), "recorded_at": utc(event.recorded_at),
            "payload": json.loads(event.body)}


def delivery_id(*, subscription: Subscription, event_id: str) -> str:
    """The id the subscription's delivery of an event has (its webhook-id), sent or not."""
    key = recipient_key(platform=subscription.platform, role=Role.PARTNER.value, recipient_id=subscription.id)
    return DeliveryIntent(event_id, key, Role.PARTNER, Channel.WEBHOOK, Language.ZH_CN, SHANGHAI,
                          subscription.url).delivery_id


def replay(*, subscription: Subscription, start: datetime, end: datetime) -> dict[str, Any]:
    """Send the subscription's events recorded in [start, end) again, each under its original webhook-id
    (a delivery it never had is created with the id it would have had); asked again before they went
    out, nothing is queued twice."""
    types = set(subscription.event_types or ())
    events: list[PartnerEvent] = []
    # Read only until the range is known to be too long: a year asked for is refused after REPLAY_MAX + 1.
    for event in stored.iter_partner_events(platform=subscription.platform, since=start, until=end):
        if _wanted(event, types):
            events.append(event)
            if len(events) > REPLAY_MAX:
                raise ReplayTooLarge(f"more than {REPLAY_MAX} events")
    ids = {e.id: delivery_id(subscription=subscription, event_id=e.id) for e in events}
    known = stored.get_deliveries(ids=list(ids.values()))
    now = utcnow()
    created = stored.create_replays(docs=[_delivery(subscription, e, ids[e.id], now) for e in events
                                          if ids[e.id] not in known])
    requeued = stored.update_replayed(ids=[i for i in ids.values() if i in known], now=now)
    return {"events": len(events), "queued": created + requeued,
            "already_pending": len(events) - created - requeued,
            "items": [{"event_id": e.id, "webhook_id": ids[e.id]} for e in events]}


def _delivery(subscription: Subscription, event: PartnerEvent, webhook_id: str, now: datetime) -> Notification:
    return Notification(
        id=webhook_id, event_id=event.id, event_type=event.internal_type, complaint_id=event.complaint_id,
        ticket=event.ticket, platform=subscription.platform,
        recipient_key=recipient_key(platform=subscription.platform, role="partner", recipient_id=subscription.id),
        recipient_id=subscription.id, recipient_role="partner", channel="webhook", language="zh-CN",
        address=subscription.url, subscription_id=subscription.id, subject=event.event_type, body=event.event_type,
        payload=event.body, state="pending", attempts=0, next_attempt_at=now,
        lease_until=now - timedelta(seconds=1), created_at=now)
