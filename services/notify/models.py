"""Notify's documents: recipients, deliveries with their attempts, subscriptions and reminders."""

from __future__ import annotations

from typing import Any

from mongoengine import BooleanField, DateTimeField, DictField, Document, FloatField, IntField, ListField, StringField

from shared.outbox import PackedRecords

STATES = ("pending", "delivered", "failed")


class ComplaintRecipients(Document):
    """Who may be told about one complaint: the complainant's contact, the merchant, the agent."""

    meta = {"collection": "complaint_recipients"}

    id = StringField(primary_key=True)  # complaint id
    ticket = StringField(required=True)
    platform = StringField(required=True)
    complainant_id = StringField(required=True)
    complainant_email = StringField()
    complainant_phone = StringField()
    language = StringField(required=True)
    merchant_id = StringField(required=True)
    agent_id = StringField()
    order_no = StringField()
    created_at = DateTimeField(required=True)
    # Only on a placeholder (no other field) for a complaint whose events came before its filing.
    parked = IntField()


class RecipientProfile(Document):
    """A merchant's, agent's or complainant's own contact and preferences (directory entry)."""

    meta = {"collection": "recipient_profiles"}

    id = StringField(primary_key=True)  # platform:role:id
    platform = StringField(required=True)
    role = StringField(required=True)
    recipient_id = StringField(required=True)
    email = StringField()
    phone = StringField()
    channels = ListField(StringField(), default=None, null=True)
    language = StringField(required=True)
    time_zone = StringField(required=True)
    updated_at = DateTimeField(required=True)


class ParkedEvent(Document):
    """An event that arrived before its complaint's ComplaintFiled; planned when that arrives."""

    meta = {"collection": "parked_events", "indexes": ["complaint_id"]}

    id = StringField(primary_key=True)  # event id
    complaint_id = StringField(required=True)
    payload = StringField(required=True)
    parked_at = DateTimeField(required=True)


class Notification(Document):
    """One (event, recipient, channel) delivery: the intent with its content, then its outcome."""

    meta = {
        "collection": "notifications",
        # Each index is rewritten with every write of a delivery (recorded, then settled): only what
        # a query uses — the inbox and an endpoint's delivery log (a webhook delivery's reader is the
        # partner role with the subscription's id), the claims.
        "indexes": [("recipient_role", "recipient_id", "created_at"),
                    ("channel", "state", "next_attempt_at")],
    }
    #: Indexes of earlier versions, dropped when the service prepares its store (`shared.store.ensure_indexes`).
    retired_indexes = ("ticket_1", "subscription_id_1")

    id = StringField(primary_key=True)  # DeliveryIntent.delivery_id
    event_id = StringField(required=True)
    event_type = StringField(required=True)
    complaint_id = StringField()
    ticket = StringField()
    platform = StringField()
    recipient_key = StringField(required=True)
    recipient_id = StringField(required=True)
    recipient_role = StringField(required=True)
    channel = StringField(required=True)
    language = StringField(required=True)
    address = StringField()
    subscription_id = StringField()
    #: Subject and text as rendered when recorded; None on an in-app notice nothing else rendered
    #: then: it keeps its `notice` and is rendered as it is read (service.inbox.shown).
    subject = StringField()
    body = StringField()
    #: The facts (a Notice as JSON) and the reader's time zone of an in-app notice rendered as it is read.
    notice = StringField()
    time_zone = StringField()
    html = StringField()
    sms = StringField()
    payload = StringField()
    template = StringField()
    render_fallback = BooleanField(default=False)
    render_error = StringField()
    state = StringField(required=True, choices=STATES)
    attempts = IntField(default=0)
    first_attempt_at = DateTimeField()
    next_attempt_at = DateTimeField(required=True)
    lease_until = DateTimeField(required=True)
    lease_token = StringField()
    last_error = StringField()
    created_at = DateTimeField(required=True)
    delivered_at = DateTimeField()
    read_at = DateTimeField()
    #: The DeliveryLog pages holding its attempts (none on a row: shared.store.row leaves it out).
    log = ListField(StringField(), default=None)


class DeliveryLog(Document):
    """The attempts one settling transaction logged (a batch of sends, one send, a ping), packed: one
    document and no index for the batch's, where each attempt was a document with an index entry.
    Each delivery names the pages holding its attempts (`Notification.log`): the delivery log reads
    them by id (repository.list_attempts)."""

    meta = {"collection": "delivery_log"}

    id = StringField(primary_key=True)
    created_at = DateTimeField(required=True)
    #: {delivery_id, number, channel, started_at (ISO 8601), status_code, latency_ms, error, ok} each.
    attempts: Any = PackedRecords()


class DeliveryAttempt(Document):
    """One try of one delivery, as versions before DeliveryLog logged it: still read for the
    deliveries whose attempts it holds."""

    meta = {"collection": "delivery_attempts", "indexes": [("delivery_id", "number")]}

    delivery_id = StringField(required=True)
    number = IntField(required=True)
    channel = StringField(required=True)
    started_at = DateTimeField(required=True)
    status_code = IntField()
    latency_ms = IntField(required=True)
    error = StringField()
    ok = BooleanField(required=True)


class Subscription(Document):
    """A partner's webhook endpoint on its platform, with signing secrets and health."""

    meta = {"collection": "subscriptions", "indexes": [("platform", "deleted_at")]}

    id = StringField(primary_key=True)
    platform = StringField(required=True)
    owner = StringField(required=True)
    url = StringField(required=True)
    event_types = ListField(StringField())
    description = StringField()
    contact_email = StringField()  # told by email too when the endpoint is paused for failures
    secret_grace_s = FloatField()  # how long a rotated-out secret still signs (None: the setting)
    secrets = ListField(DictField())
    health = DictField()
    paused_at = DateTimeField()
    created_at = DateTimeField(required=True)
    updated_at = DateTimeField()
    deleted_at = DateTimeField()


class PartnerEvent(Document):
    """One event a platform's partners may hear of, with the webhook body it is told in: the events
    list partners reconcile from, and what a replay sends again.

    The platform's other events recorded in the same transaction (a consumer's group) are packed
    into `more` (as an outbox entry's records): one document and one index entry for the group's,
    where each was both (repository.events_log.expanded reads them out)."""

    meta = {"collection": "partner_events", "indexes": [("platform", "recorded_at")]}

    id = StringField(primary_key=True)  # the event's delivery key (events._intent_key)
    platform = StringField(required=True)
    event_type = StringField(required=True)  # the type the body names (what partners filter by)
    internal_type = StringField(required=True)
    complaint_id = StringField()
    ticket = StringField()
    occurred_at = DateTimeField()
    recorded_at = DateTimeField(required=True)
    body = StringField(required=True)
    #: {id, event_type, internal_type, complaint_id, ticket, occurred_at (ISO 8601), body} each,
    #: recorded with this one (its platform and recorded_at); none on a row (shared.store.row leaves it out).
    more: Any = PackedRecords()


class Reminder(Document):
    """A durable scheduled job: due_at says when, state says whether it still has to run."""

    meta = {"collection": "reminders", "indexes": [("state", "due_at")]}

    id = StringField(primary_key=True)
    kind = StringField(required=True, choices=("evidence_missing", "breach_digest"))
    complaint_id = StringField()
    platform = StringField()
    agent_id = StringField()
    tickets = ListField(StringField())
    missing = ListField(StringField())
    state = StringField(required=True, choices=("pending", "done", "cancelled"))
    due_at = DateTimeField(required=True)
    basis_at = DateTimeField()
    lease_until = DateTimeField()
    done_at = DateTimeField()
