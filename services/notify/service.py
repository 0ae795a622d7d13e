"""Notify's logic: acknowledging a filed complaint to the complainant in the in-app inbox."""

from __future__ import annotations

from services.notify.models import Notification
from shared.contracts.complaints import ComplaintFiled
from shared.contracts.notify import NotificationSent
from shared.envelope import utcnow
from shared.ledger import apply_once
from shared.outbox import emit
from shared.store import Tx

_ACK = {
    "zh-CN": ("投诉已受理：{ticket}", "您的投诉已受理，受理编号 {ticket}。我们会在 24 小时内给出首次答复。"),
    "en": ("Complaint received: {ticket}", "Your complaint was received under ticket {ticket}. "
           "You will get a first answer within 24 hours."),
}


def acknowledge(*, event: ComplaintFiled, topic: str, consumer: str) -> Notification:
    """Record the acknowledgement in the complainant's inbox, once per event."""
    language = event.complainant.language
    subject, body = (t.format(ticket=event.ticket) for t in _ACK[language])
    now = utcnow()
    notification = Notification(
        id=f"{event.event_id}:{event.complainant.id}:in_app", event_id=event.event_id,
        event_type=event.type, ticket=event.ticket, recipient_id=event.complainant.id,
        recipient_role="complainant", channel="in_app", language=language, subject=subject,
        body=body, state="delivered", created_at=now, delivered_at=now,
    )
    sent = NotificationSent(complaint_id=event.complaint_id, ticket=event.ticket,
                            about_event_id=event.event_id, about_event_type=event.type,
                            recipient_role="complainant", channel="in_app")

    def work(tx: Tx) -> Notification:
        tx.insert(notification)
        emit(tx, topic=topic, messages=[sent])
        return notification

    return apply_once(consumer=consumer, event=event, work=work)


def list_inbox(*, recipient_id: str, limit: int = 50) -> list[Notification]:
    """A recipient's in-app notifications, newest first."""
    return list(Notification.objects(recipient_id=recipient_id, channel="in_app")
                .order_by("-created_at").limit(limit))
