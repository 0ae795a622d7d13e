"""A reader's own notifications and preferences: the in-app inbox with read/unread, contact and choices."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import UTC

from pydantic import ValidationError

from services.notify import repository
from services.notify.domain.notice import SHANGHAI, Channel, Language, Notice, Role
from services.notify.domain.render import IN_APP_PARTS, render_notice
from services.notify.models import Notification, RecipientProfile
from services.notify.service.planning import recipient_key
from shared.envelope import utcnow

log = logging.getLogger(__name__)


def list_inbox(*, role: Role, recipient_id: str, platform: str | None, unread_only: bool = False,
               limit: int = 50) -> list[Notification]:
    """A reader's in-app notifications, newest first."""
    return repository.list_inbox(role=role.value, recipient_id=recipient_id, platform=platform,
                                 unread_only=unread_only, limit=limit)


def shown(doc: Notification) -> tuple[str, str]:
    """An in-app notice's subject and text: as stored, or rendered now from the facts it keeps (one
    told in-app only is rendered as it is read). A failed template shows the plain message and is
    flagged on the notice, as one rendered when recorded is."""
    if doc.notice is None:
        return doc.subject or "", doc.body or ""
    problem = None
    try:
        notice = Notice.model_validate_json(doc.notice)
    except ValidationError as exc:
        # Facts stored in a shape this version does not read: the event's message from what the
        # notice itself says (its template, else the plain message), flagged.
        problem = f"stored facts unreadable: {exc.errors()[0]['msg']}"
        notice = Notice(event_id=doc.event_id, event_type=doc.event_type, complaint_id=doc.complaint_id or "-",
                        ticket=doc.ticket or "-", occurred_at=doc.created_at.replace(tzinfo=UTC))
    rendered = render_notice(notice=notice, role=Role(doc.recipient_role), language=Language(doc.language),
                             time_zone=doc.time_zone or SHANGHAI, parts=IN_APP_PARTS)
    if (rendered.fallback or problem) and not doc.render_fallback:
        error = "; ".join(p for p in (problem, rendered.error) if p)
        if repository.update_render_failed(notification_id=doc.id, template=rendered.template, error=error):
            log.warning("in-app notice %s (%s) read with a fallback, template %s: %s", doc.id, doc.event_type,
                        rendered.template, error)
    return rendered.subject, rendered.text


def mark_read(*, notification_id: str, role: Role, recipient_id: str, platform: str | None) -> Notification | None:
    """Mark one of the reader's notifications read (idempotent); None when it is not theirs."""
    return repository.update_read(notification_id=notification_id, role=role.value, recipient_id=recipient_id,
                                  platform=platform, at=utcnow())


def set_preferences(*, platform: str, role: Role, recipient_id: str, email: str | None, phone: str | None,
                    channels: Sequence[str] | None, language: str, time_zone: str) -> RecipientProfile:
    """Store a person's own contact, channels (None: the defaults), language and time zone."""
    profile = RecipientProfile(
        id=recipient_key(platform=platform, role=role.value, recipient_id=recipient_id),
        platform=platform, role=role.value, recipient_id=recipient_id, email=email,
        phone=phone, channels=[Channel(c).value for c in channels] if channels is not None else None,
        language=language, time_zone=time_zone, updated_at=utcnow())
    repository.update_profile(profile=profile)
    return profile


def get_preferences(*, platform: str | None, role: Role, recipient_id: str) -> RecipientProfile | None:
    """A person's own contact and preferences, None when none were set."""
    return repository.get_profile(key=recipient_key(platform=platform or "", role=role.value,
                                                    recipient_id=recipient_id))
