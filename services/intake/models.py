"""Intake's documents: complaints, the other services' steps on their timelines, the ticket sequence, and the
uniqueness guards."""

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
    ListField,
    StringField,
)


class TimelineEntry(EmbeddedDocument):
    """One step intake took on the complaint (filed, statement, withdrawal, correction), kept in it.

    Complaints stored before other services' steps moved to `ComplaintStep` hold those here too.
    """

    event_id = StringField(required=True)
    at = DateTimeField(required=True)
    service = StringField(required=True)
    step = StringField(required=True)
    detail = DictField()
    actor = DictField()  # who did it: role and id (entries stored before actors were recorded have none)


class Complaint(Document):
    """The complaint as filed, its current status and what happened to it since."""

    meta = {
        "collection": "complaints",
        # Complaints filed before the waits were documents of their own still carry their list.
        "strict": False,
        "indexes": [
            {"fields": ["ticket"], "unique": True},
            ("platform", "-filed_at", "-_id"),
            ("platform", "merchant.id", "status"),
            ("complainant.id", "-filed_at", "-_id"),
            ("status", "-filed_at"),
            "filed_at",  # the reconciler: how far each service got
        ],
    }

    id = StringField(primary_key=True)
    ticket = StringField(required=True)
    status = StringField(required=True)
    status_at = DateTimeField()  # when the case change shown as status happened (later ones win)
    tier = StringField()
    category = StringField(required=True)
    category_inferred = BooleanField(default=False)
    category_confidence = FloatField()
    category_keywords = ListField(StringField())
    priority = StringField(required=True)
    priority_reasons = ListField(StringField())
    platform = StringField(required=True)
    merchant = DictField(required=True)
    complainant = DictField(required=True)
    order = DictField(required=True)
    description = DictField()
    demand = DictField(required=True)
    statements = ListField(DictField())
    withdrawal = DictField()
    dedup_digest = StringField()
    source = StringField(default="http")
    platform_reference = StringField()
    filed_by = DictField()
    filed_at = DateTimeField(required=True)
    updated_at = DateTimeField(required=True)
    trace_id = StringField()
    redriven_at = DateTimeField()
    # Intake's own steps, written with the change they record; other services' are ComplaintSteps.
    timeline = EmbeddedDocumentListField(TimelineEntry)


class ComplaintWait(Document):
    """A service that acts on every complaint and has not been heard from about this one yet.

    Written with the filing, one per service, and deleted by that service's first step: the
    reconciler reads only complaints still waiting for someone. A document of its own rather than a
    list on the complaint: the embedded store rewrites the complaint and its seven index entries on
    each change, and the services' steps arriving together then conflicted on it; a delete of this
    one costs a fifth of that.
    """

    meta = {"collection": "complaint_waits", "indexes": [("actor", "filed_at")]}

    id = StringField(primary_key=True)  # complaint id:actor
    complaint_id = StringField(required=True)
    actor = StringField(required=True)
    filed_at = DateTimeField(required=True)

    @staticmethod
    def key(complaint_id: str, actor: str) -> str:
        return f"{complaint_id}:{actor}"


class ComplaintStep(Document):
    """A step another service took on a complaint, learnt from its event: one document per event.

    Kept out of the complaint document: the embedded store rewrites every index entry of a document
    on each change, and a complaint has seven indexes, while a step is inserted once and never changed.
    """

    meta = {"collection": "complaint_steps", "indexes": ["complaint_id"]}

    id = StringField(primary_key=True)  # the event's id: a redelivered event is the same step
    complaint_id = StringField(required=True)
    at = DateTimeField(required=True)
    service = StringField(required=True)
    step = StringField(required=True)
    detail = DictField()
    actor = DictField()  # who did it: role and id, e.g. {"role": "agent", "id": "agent-7"}


class TicketSequence(Document):
    """Per-day counter behind ticket numbers; only ever incremented, so numbers are never reused."""

    meta = {"collection": "ticket_sequences"}

    id = StringField(primary_key=True)
    value = IntField(required=True, default=0)


class OpenComplaint(Document):
    """One row per open complaint, keyed by its dedup digest: a second open twin cannot be inserted."""

    # complaint_id: a complaint that finishes or is withdrawn frees its slot by complaint id; without
    # the index that delete reads every open complaint.
    meta = {"collection": "open_complaints", "indexes": ["complaint_id"]}

    id = StringField(primary_key=True)
    complaint_id = StringField(required=True)
    ticket = StringField(required=True)
    # Whom the complaint is against; a slot carrying them is counted in MerchantTally.
    platform = StringField()
    merchant_id = StringField()
    tally_shard = IntField()


class MerchantTally(Document):
    """How many counted open-complaint slots a merchant holds, split over a few documents.

    Filing adds one and freeing the slot takes it away, in the same transaction, so the sum is
    exact; spreading a merchant over several documents keeps concurrent filings against one busy
    shop from all writing the same document.
    """

    meta = {"collection": "merchant_open_tallies", "indexes": ["merchant"]}

    id = StringField(primary_key=True)  # platform, merchant id and shard
    merchant = StringField()  # platform and merchant id: what the count is read by
    open = IntField(required=True, default=0)


class CommandReply(Document):
    """The answer given to a platform's FileComplaint, by (platform, platform reference)."""

    meta = {"collection": "command_replies"}

    id = StringField(primary_key=True)
    platform = StringField(required=True)
    platform_reference = StringField(required=True)
    fingerprint = StringField(required=True)
    message_type = StringField(required=True)
    payload = StringField(required=True)
    created_at = DateTimeField(required=True)
