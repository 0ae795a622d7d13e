"""Evidence's documents: the file per complaint, its items, custody logs and channel records."""

from __future__ import annotations

from mongoengine import DateTimeField, DictField, Document, IntField, ListField, StringField


class EvidenceFile(Document):
    """The evidence file of one complaint: what its category needs and the order it is about."""

    meta = {"collection": "evidence_files", "indexes": [
        {"fields": ["ticket"], "unique": True}, "order.payment_transaction_id",
        "order.order_number"]}

    id = StringField(primary_key=True)  # the complaint id
    ticket = StringField(required=True)
    category = StringField(required=True)
    complainant_id = StringField(required=True)
    platform = StringField(required=True)
    merchant_id = StringField(required=True)
    merchant_name = StringField(default="")
    order = DictField(required=True)
    demand = DictField()
    filed_at = DateTimeField()
    incident_at = DateTimeField()
    description = StringField(default="")  # intake masks secrets before it travels
    required_kinds = ListField(StringField())
    status = StringField(required=True, default="open")
    opened_at = DateTimeField(required=True)
    next_number = IntField(default=1)
    used_bytes = IntField(default=0)
    assessment = DictField()
    debits_confirmed = ListField(StringField())  # transactions whose debit was told confirmed


class ComplaintClosure(Document):
    """A complaint closed or withdrawn, possibly before its evidence file was opened.

    Opening the file marks it too (`file_opened_at`, no status yet), so that opening and closing
    always write the same document and concurrent ones cannot both commit unaware of each other.
    """

    meta = {"collection": "complaint_closures"}

    id = StringField(primary_key=True)  # the complaint id
    status = StringField()
    at = DateTimeField()
    file_opened_at = DateTimeField()


class EvidenceItem(Document):
    """One stored piece of evidence; `custody_head` is the last custody hash, kept apart."""

    meta = {"collection": "evidence_items", "indexes": [
        {"fields": ["complaint_id", "sha256"], "unique": True},
        {"fields": ["complaint_id", "number"], "unique": True},
        "structured.transaction_id"]}

    id = StringField(primary_key=True)
    complaint_id = StringField(required=True)
    ticket = StringField(required=True)
    number = IntField(required=True)
    kind = StringField(required=True)
    structured = DictField()  # the parsed structured fields of its kind
    name = StringField(required=True)
    mime = StringField(required=True)
    extension = StringField(required=True)
    size = IntField(required=True)
    sha256 = StringField(required=True)
    gridfs_id = StringField(required=True)
    submitted_by = DictField(required=True)  # subject, role, merchant_id
    submitted_at = DateTimeField(required=True)
    flags = ListField(DictField())
    channel_check = DictField()
    card_key_check = DictField()
    custody_head = StringField(required=True)


class CustodyRecord(Document):
    """One stored entry of an item's custody hash chain."""

    meta = {"collection": "custody_log",
            "indexes": [{"fields": ["item_id", "sequence"], "unique": True}]}

    item_id = StringField(required=True)
    sequence = IntField(required=True)
    action = StringField(required=True)
    actor = StringField(required=True)
    at = DateTimeField(required=True)
    details = DictField()
    prev_hash = StringField(required=True)
    entry_hash = StringField(required=True)


class PaymentRecordDoc(Document):
    """The latest record a channel published for one transaction."""

    meta = {"collection": "payment_records",
            "indexes": [{"fields": ["transaction_id"], "unique": True}, "record.order_number"]}

    transaction_id = StringField(required=True)
    record = DictField(required=True)
    received_at = DateTimeField(required=True)
    event_id = StringField()
    posted_by = DictField()  # who sent it over HTTP (subject, role, platform) or {via: topic}


class StoredCardKey(Document):
    """A full card key, encrypted; only its last 4 characters are kept in the clear."""

    meta = {"collection": "card_keys", "indexes": ["item_id"]}

    id = StringField(primary_key=True)
    item_id = StringField(required=True)
    issuer_ref = StringField(default="")
    token = StringField(required=True)
    last4 = StringField(required=True)
    status = StringField(required=True)
    checked_at = DateTimeField(required=True)


class PaymentWatch(Document):
    """A payment's meeting point: filings and channel records of one payment both write it.

    A complaint filed while the channel's record of its payment is being applied would otherwise
    not see the record, nor the record the complaint (each reads before the other commits); both
    writing this one document makes the store retry one of them, which then sees the other."""

    meta = {"collection": "payment_watches"}

    id = StringField(primary_key=True)  # tx:<transaction id> or order:<order number>
    touches = IntField(default=0)
