"""Record what an attempt did: the log entry, the delivery's state, retries and endpoint health."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from services.notify import repository
from services.notify.adapters.senders import Outcome
from services.notify.config import NotifySettings
from services.notify.domain.retry import EndpointHealth, next_attempt_at, record_attempt
from services.notify.models import DeliveryAttempt, Notification, Subscription
from services.notify.service import subscriptions
from services.notify.service.planning import notification_sent
from shared.envelope import utcnow
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


def record_outcome(commits: GroupCommit, *, doc: Notification, subscription: Subscription | None,
                   outcome: Outcome, settings: NotifySettings) -> bool:
    """Log the attempt and settle the delivery in one transaction; True when it was delivered now.

    Outcomes of sends that finish together share a transaction and its commit (`commits`) instead
    of one commit per send."""
    now = utcnow()
    attempt = doc.attempts + 1
    retry_at = None if outcome.ok else _retry_at(doc, outcome, attempt, settings)

    def work(tx: UnitOfWork) -> bool:
        repository.create_attempt(tx, attempt=DeliveryAttempt(
            delivery_id=doc.id, number=attempt, channel=doc.channel, started_at=outcome.started_at,
            status_code=outcome.status_code, latency_ms=outcome.latency_ms, error=outcome.error, ok=outcome.ok))
        changes: dict = {"attempts": attempt, "first_attempt_at": doc.first_attempt_at or outcome.started_at,
                         "lease_until": now, "last_error": outcome.error}
        if outcome.ok:
            changes |= {"state": "delivered", "delivered_at": now}
        else:
            changes |= {"state": "pending" if retry_at else "failed", "next_attempt_at": retry_at or now}
        if not repository.update_settled(tx, doc=doc, changes=changes):
            log.warning("delivery %s was settled by another worker; attempt only logged", doc.id)
            return False
        if subscription is not None:
            _update_health(tx, subscription=subscription, ok=outcome.ok, retry_at=retry_at, now=now,
                           settings=settings)
        if outcome.ok and doc.complaint_id:
            emit(tx, topic=settings.topics.notify_events, messages=[notification_sent(doc)])
        return outcome.ok

    return commits.run(work)


def _update_health(tx: UnitOfWork, *, subscription: Subscription, ok: bool, retry_at: datetime | None, now: datetime,
                   settings: NotifySettings) -> None:
    current, paused_at = repository.get_health(tx, subscription_id=subscription.id)
    stored = {k: v for k, v in current.items() if k != "backoff_until"}
    if ok and not stored.get("consecutive_failures") and not paused_at:
        return  # healthy and staying so: nothing to write (see repository.update_health)
    health = record_attempt(health=EndpointHealth(**stored), ok=ok, at=now,
                            failures=settings.webhook_pause_after_failures,
                            span=timedelta(seconds=settings.webhook_pause_after_s))
    saved = health.model_dump()
    # Per-endpoint backoff: a failing endpoint's other deliveries wait too, so it is not hammered.
    saved["backoff_until"] = None if ok else min(retry_at or now, now + timedelta(seconds=settings.retry_max_delay_s))
    repository.update_health(tx, subscription_id=subscription.id, health=saved, paused_at=health.paused_at)
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
