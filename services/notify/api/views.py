"""What notify's routes answer: an inbox item, a person's preferences, a subscription (never its secrets)."""

from __future__ import annotations

from typing import Any

from services.notify.models import Notification, RecipientProfile, Subscription
from services.notify.service import inbox


def inbox_item(n: Notification) -> dict[str, Any]:
    """One in-app notification as its reader sees it."""
    subject, body = inbox.shown(n)
    return {"id": n.id, "ticket": n.ticket, "event_type": n.event_type, "subject": subject, "body": body,
            "created_at": n.created_at, "read": n.read_at is not None, "read_at": n.read_at}


def preferences(p: RecipientProfile) -> dict[str, Any]:
    """A person's contact and choices."""
    return {"email": p.email, "phone": p.phone, "channels": p.channels, "language": p.language,
            "time_zone": p.time_zone, "updated_at": p.updated_at}


def subscription(s: Subscription) -> dict[str, Any]:
    """A webhook subscription with its state and health."""
    return {"id": s.id, "url": s.url, "event_types": s.event_types, "description": s.description,
            "created_at": s.created_at, "paused": s.paused_at is not None, "paused_at": s.paused_at,
            "consecutive_failures": (s.health or {}).get("consecutive_failures", 0),
            "contact_email": s.contact_email, "secret_grace_s": s.secret_grace_s, "updated_at": s.updated_at}
