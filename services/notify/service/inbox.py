"""A reader's own notifications and preferences: the in-app inbox with read/unread, contact and choices."""

from __future__ import annotations

from collections.abc import Sequence

from services.notify import repository
from services.notify.domain.notice import Channel, Role
from services.notify.models import Notification, RecipientProfile
from services.notify.service.planning import recipient_key
from shared.envelope import utcnow


def list_inbox(*, role: Role, recipient_id: str, platform: str | None, unread_only: bool = False,
               limit: int = 50) -> list[Notification]:
    """A reader's in-app notifications, newest first."""
    return repository.list_inbox(role=role.value, recipient_id=recipient_id, platform=platform,
                                 unread_only=unread_only, limit=limit)


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
