"""Record what an attempt did: the log entry, the delivery's state, retries and endpoint health."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from services.notify import repository
from services.notify.adapters.senders import Outcome
from services.notify.config import NotifySettings
from services.notify.domain.retry import EndpointHealth, next_attempt_at, record_attempt
from services.notify.models import Notification, Subscription
from services.notify.service import subscriptions
from services.notify.service.planning import notification_sent
from shared.envelope import Message, utcnow
from shared.outbox import emit
from shared.store import GroupCommit, UnitOfWork

log = logging.getLogger(__name__)
PAUSED_TEXT = {
    "subject": "回调地址已暂停 / Webhook endpoint paused",
    "body": ("您的回调地址 {url} 连续 {n} 次投递失败，已暂停投递；待投递的消息会保留，修复后请恢复订阅 {id}。\n"
             "Your endpoint {url} failed {n} deliveries in a row and was paused; pending deliveries are kept. "
             "Fix it, then resume subscription {id}."),
}


def _retry_at(doc: Notification, outcome: Outcome, attempt: int, settings: NotifySettings) -> datetime | None:
    if outcome.permanent:
        return None
    return next_attempt_at(first_attempt_at=doc.first_attempt_at or outcome.started_at,
                           last_attempt_at=utcnow(), attempts_made=attempt,
                           base=timedelta(seconds=settings.retry_base_s),
                           max_delay=timedelta(seconds=settings.retry_max_delay_s),
                           horizon=timedelta(seconds=settings.retry_horizon_s),
                           max_attempts=settings.retry_max_attempts)


@dataclass(frozen=True)
class Sent:
    """One finished attempt of a taken delivery, to be settled."""

    doc: Notification
    subscription: Subscription | None
    outcome: Outcome


def _changes(sent: Sent, *, now: datetime, settings: NotifySettings) -> tuple[dict, datetime | None]:
    """What an attempt's outcome sets on its delivery (the attempt count is incremented with it).

    A delivered one's changes are the same for all settled at once, so the store writes them as one
    statement (repository.update_settled_many); a failed one's name when its retries began, the
    start of its retry horizon."""
    doc, outcome = sent.doc, sent.outcome
    attempt = doc.attempts + 1
    retry_at = None if outcome.ok else _retry_at(doc, outcome, attempt, settings)
    if outcome.ok:
        return {"state": "delivered", "delivered_at": now, "lease_until": now, "last_error": None}, None
    return {"state": "pending" if retry_at else "failed", "next_attempt_at": retry_at or now, "lease_until": now,
            "last_error": outcome.error, "first_attempt_at": doc.first_attempt_at or outcome.started_at}, retry_at


def _attempt(sent: Sent) -> dict[str, Any]:
    """The attempt's entry in the delivery log (repository.create_log packs a transaction's)."""
    outcome = sent.outcome
    return {"delivery_id": sent.doc.id, "number": sent.doc.attempts + 1, "channel": sent.doc.channel,
            "started_at": outcome.started_at, "status_code": outcome.status_code,
            "latency_ms": outcome.latency_ms, "error": outcome.error, "ok": outcome.ok}


def record_outcomes(commits: GroupCommit, *, sent: list[Sent], settings: NotifySettings) -> list[bool]:
    """Log the attempts and settle their deliveries in one transaction: one log page of the attempts,
    the deliveries this worker still holds read, then written by id (naming the page), a read and at
    most one write per endpoint whose health may change, one outbox write. For each, True when it
    was delivered now; False when it failed or another worker had settled it (its attempt is logged)."""
    now = utcnow()
    planned = [(one, *_changes(one, now=now, settings=settings)) for one in sent]

    def work(tx: UnitOfWork) -> list[bool]:
        page = repository.create_log(tx, attempts=[_attempt(one) for one in sent], now=now)
        settled = repository.update_settled_many(tx, settles=[(one.doc, changes) for one, changes, _ in planned],
                                                 log=page)
        lost = [one.doc.id for one, _, _ in planned if one.doc.id not in settled]
        for delivery_id in lost:
            log.warning("delivery %s was settled by another worker; attempt only logged", delivery_id)
        if lost:
            repository.update_logged(tx, ids=lost, log=page)
        mine = [(one, retry_at) for one, _, retry_at in planned if one.doc.id in settled]
        # An endpoint whose sends all succeeded, healthy as read before they were sent (the worker
        # reads each endpoint before sending), stays so: nothing to read or write for it.
        failing = {one.subscription.id for one in sent if one.subscription is not None and not one.outcome.ok}
        endpoints = {one.subscription.id: one.subscription for one, _ in mine
                     if one.subscription is not None and not _healthy(one.subscription, failing=failing)}
        stored = repository.list_health(tx, subscription_ids=list(endpoints)) if endpoints else {}
        for sub_id, subscription in endpoints.items():
            _update_health_many(tx, subscription=subscription, stored=stored.get(sub_id, ({}, None)),
                                results=[(one.outcome.ok, retry_at) for one, retry_at in mine
                                         if one.subscription is not None and one.subscription.id == sub_id],
                                now=now, settings=settings)
        delivered: list[Message] = [notification_sent(one.doc) for one, _ in mine
                                    if one.outcome.ok and one.doc.complaint_id]
        if delivered:
            # One outbox entry for the batch's facts: each entry costs the store an insert and a mark.
            emit(tx, topic=settings.topics.notify_events, messages=delivered, together=True)
        return [one.doc.id in settled and one.outcome.ok for one in sent]

    return commits.run(work)


def _healthy(subscription: Subscription, *, failing: set[str]) -> bool:
    """No send of the batch to this endpoint failed, and it had no failures and no pause when read."""
    return (subscription.id not in failing and subscription.paused_at is None
            and not (subscription.health or {}).get("consecutive_failures"))


def record_outcome(commits: GroupCommit, *, doc: Notification, subscription: Subscription | None,
                   outcome: Outcome, settings: NotifySettings) -> bool:
    """Log the attempt and settle the delivery in one transaction; True when it was delivered now.

    Outcomes of sends that finish together share a transaction and its commit (`commits`) instead
    of one commit per send."""
    now = utcnow()
    sent = Sent(doc=doc, subscription=subscription, outcome=outcome)
    changes, retry_at = _changes(sent, now=now, settings=settings)

    def work(tx: UnitOfWork) -> bool:
        page = repository.create_log(tx, attempts=[_attempt(sent)], now=now)
        if not repository.update_settled(tx, doc=doc, changes=changes, log=page):
            log.warning("delivery %s was settled by another worker; attempt only logged", doc.id)
            repository.update_logged(tx, ids=[doc.id], log=page)
            return False
        if subscription is not None:
            _update_health(tx, subscription=subscription, ok=outcome.ok, retry_at=retry_at, now=now,
                           settings=settings)
        if outcome.ok and doc.complaint_id:
            emit(tx, topic=settings.topics.notify_events, messages=[notification_sent(doc)])
        return outcome.ok

    return commits.run(work)


def _update_health_many(tx: UnitOfWork, *, subscription: Subscription, stored: tuple[dict, datetime | None],
                        results: list[tuple[bool, datetime | None]], now: datetime, settings: NotifySettings) -> None:
    """Fold one endpoint's outcomes of a batch, in order, into its health; written once if it changed."""
    current, paused_at = stored
    health: EndpointHealth | None = None
    backoff_until: datetime | None = None
    for ok, retry_at in results:
        kept = health.model_dump() if health is not None else {k: v for k, v in current.items()
                                                               if k != "backoff_until"}
        if health is None and ok and not kept.get("consecutive_failures") and not paused_at:
            continue  # healthy and staying so: nothing to write (see repository.update_health)
        health = record_attempt(health=EndpointHealth(**kept), ok=ok, at=now,
                                failures=settings.webhook_pause_after_failures,
                                span=timedelta(seconds=settings.webhook_pause_after_s))
        # Per-endpoint backoff: a failing endpoint's other deliveries wait too, so it is not hammered.
        backoff_until = None if ok else min(retry_at or now, now + timedelta(seconds=settings.retry_max_delay_s))
    if health is None:
        return
    _save_health(tx, subscription=subscription, health=health, backoff_until=backoff_until, paused_at=paused_at,
                 now=now, settings=settings)


def _update_health(tx: UnitOfWork, *, subscription: Subscription, ok: bool, retry_at: datetime | None, now: datetime,
                   settings: NotifySettings) -> None:
    current, paused_at = repository.get_health(tx, subscription_id=subscription.id)
    stored = {k: v for k, v in current.items() if k != "backoff_until"}
    if ok and not stored.get("consecutive_failures") and not paused_at:
        return  # healthy and staying so: nothing to write (see repository.update_health)
    health = record_attempt(health=EndpointHealth(**stored), ok=ok, at=now,
                            failures=settings.webhook_pause_after_failures,
                            span=timedelta(seconds=settings.webhook_pause_after_s))
    # Per-endpoint backoff: a failing endpoint's other deliveries wait too, so it is not hammered.
    backoff_until = None if ok else min(retry_at or now, now + timedelta(seconds=settings.retry_max_delay_s))
    _save_health(tx, subscription=subscription, health=health, backoff_until=backoff_until, paused_at=paused_at,
                 now=now, settings=settings)


def _save_health(tx: UnitOfWork, *, subscription: Subscription, health: EndpointHealth,
                 backoff_until: datetime | None, paused_at: datetime | None, now: datetime,
                 settings: NotifySettings) -> None:
    """Store an endpoint's new health; tell its owner in the inbox when this paused it."""
    saved = health.model_dump()
    saved["backoff_until"] = backoff_until
    # A pause stays until the partner resumes: an outcome settled after a pause by hand (a send that
    # was in flight) must not clear it, only a pause for failures is added here.
    repository.update_health(tx, subscription_id=subscription.id, health=saved,
                             paused_at=health.paused_at or paused_at)
    if health.paused and not paused_at:
        log.warning("webhook subscription %s paused after %d failures", subscription.id,
                    health.consecutive_failures)
        text = {k: v.format(url=subscription.url, n=health.consecutive_failures, id=subscription.id)
                for k, v in PAUSED_TEXT.items()}
        repository.create_notification(tx, doc=Notification(
            id=f"paused:{subscription.id}:{now:%Y%m%dT%H%M%S%f}", event_id=f"paused:{subscription.id}",
            event_type="WebhookEndpointPaused", platform=subscription.platform,
            recipient_key=f"{subscription.platform}:partner:{subscription.owner}", recipient_id=subscription.owner,
            recipient_role="partner", channel="in_app", language="zh-CN", subject=text["subject"],
            body=text["body"], state="delivered", next_attempt_at=now, lease_until=now, created_at=now,
            delivered_at=now, subscription_id=subscription.id))
        email = subscriptions.paused_email(subscription=subscription, subject=text["subject"], body=text["body"],
                                           now=now, email_on=bool(settings.smtp_host))
        if email is not None:  # the owner's contact email too, sent by the worker like any email
            repository.create_notification(tx, doc=email)
