"""Intake's documents: the complaint with its timeline, and the ticket sequence."""

from __future__ import annotations

from mongoengine import (
    BooleanField,
    DateTimeField,
    DictField,
    Document,
    EmbeddedDocument,
    EmbeddedDocumentListField,
    FloatField,
    IntField,
    StringField,
)


class TimelineEntry(EmbeddedDocument):
    """One step any service took on the complaint, learnt from its event."""

    event_id = StringField(required=True)
    at = DateTimeField(required=True)
    service = StringField(required=True)
    step = StringField(required=True)
    detail = DictField()


class Complaint(Document):
    """The complaint as filed, its current status and what happened to it since."""

    meta = {
        "collection": "complaints",
        "indexes": [
            {"fields": ["ticket"], "unique": True},
            ("status", "filed_at"),
            ("platform", "filed_at"),
            ("merchant.id", "status"),
            ("complainant.id", "filed_at"),
        ],
    }

    id = StringField(primary_key=True)
    ticket = StringField(required=True)
    status = StringField(required=True)
    tier = StringField()
    category = StringField(required=True)
    category_inferred = BooleanField(default=False)
    category_confidence = FloatField()
    priority = StringField(required=True)
    platform = StringField(required=True)
    merchant = DictField(required=True)
    complainant = DictField(required=True)
    order = DictField(required=True)
    description = DictField()
    demand = DictField(required=True)
    filed_at = DateTimeField(required=True)
    updated_at = DateTimeField(required=True)
    trace_id = StringField()
    timeline = EmbeddedDocumentListField(TimelineEntry)


class TicketSequence(Document):
    """Per-day counter behind ticket numbers; only ever incremented, so numbers are never reused."""

    meta = {"collection": "ticket_sequences"}

    id = StringField(primary_key=True)
    value = IntField(required=True, default=0)
