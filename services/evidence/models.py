"""Evidence's documents: one evidence file per complaint."""

from __future__ import annotations

from mongoengine import DateTimeField, DictField, Document, ListField, StringField


class EvidenceFile(Document):
    """The evidence file of one complaint: what its category needs and the order it is about."""

    meta = {"collection": "evidence_files", "indexes": [{"fields": ["ticket"], "unique": True}]}

    id = StringField(primary_key=True)  # the complaint id
    ticket = StringField(required=True)
    category = StringField(required=True)
    complainant_id = StringField(required=True)
    platform = StringField(required=True)
    merchant_id = StringField(required=True)
    order = DictField(required=True)
    required_kinds = ListField(StringField())
    status = StringField(required=True, default="open")
    opened_at = DateTimeField(required=True)
