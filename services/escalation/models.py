"""Escalation's documents: the case and its durable timers."""

from __future__ import annotations

from mongoengine import DateTimeField, DictField, Document, IntField, StringField


class Case(Document):
    """One complaint's case: its state, tier and routing facts."""

    meta = {
        "collection": "cases",
        "indexes": [{"fields": ["ticket"], "unique": True}, ("state", "opened_at")],
    }

    id = StringField(primary_key=True)  # the complaint id
    ticket = StringField(required=True)
    state = StringField(required=True)
    tier = StringField(required=True)
    category = StringField(required=True)
    priority = StringField(required=True)
    platform = StringField(required=True)
    merchant_id = StringField(required=True)
    amount = DictField(required=True)
    opened_at = DateTimeField(required=True)
    updated_at = DateTimeField(required=True)
    version = IntField(required=True, default=0)


class Timer(Document):
    """A durable clock deadline, found by a query over what is due (never a scan of cases)."""

    meta = {
        "collection": "timers",
        "indexes": [("state", "due_at"), {"fields": ["complaint_id", "clock", "kind"], "unique": True}],
    }

    id = StringField(primary_key=True)
    complaint_id = StringField(required=True)
    ticket = StringField(required=True)
    clock = StringField(required=True)
    kind = StringField(required=True, choices=("warning", "breach"))
    due_at = DateTimeField(required=True)
    state = StringField(required=True, choices=("scheduled", "fired", "cancelled", "paused"))
    trace = DictField()
