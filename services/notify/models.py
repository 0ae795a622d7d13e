"""Notify's documents: one notification per (event, recipient, channel)."""

from __future__ import annotations

from mongoengine import DateTimeField, Document, StringField


class Notification(Document):
    """What one recipient is told about one event on one channel; the id is the delivery key."""

    meta = {
        "collection": "notifications",
        "indexes": [("recipient_id", "created_at"), ("state", "created_at"), "ticket"],
    }

    id = StringField(primary_key=True)  # event_id:recipient_id:channel
    event_id = StringField(required=True)
    event_type = StringField(required=True)
    ticket = StringField(required=True)
    recipient_id = StringField(required=True)
    recipient_role = StringField(required=True)
    channel = StringField(required=True)
    language = StringField(required=True)
    subject = StringField(required=True)
    body = StringField(required=True)
    state = StringField(required=True, choices=("pending", "sending", "delivered", "failed"))
    created_at = DateTimeField(required=True)
    delivered_at = DateTimeField()
    read_at = DateTimeField()
