"""Escalation's documents: the case and its durable timers."""

from __future__ import annotations

from mongoengine import (
    BooleanField,
    DateTimeField,
    DictField,
    Document,
    IntField,
    ListField,
    StringField,
)


class Case(Document):
    """One complaint's case: lifecycle status, route, clocks and the facts analytics group by."""

    meta = {
        "collection": "cases",
        "indexes": [
            {"fields": ["ticket"], "unique": True},
            ("platform", "opened_at"),  # analytics of the cases opened in a period
            ("platform", "merchant_id", "state"),  # a merchant's queue and open complaints
            ("platform", "merchant_id", "breach_count"),  # the merchant's missed clocks, read per filing
            ("platform", "resolved_at"),  # analytics: resolution times of a period
            ("platform", "next_due_at"),  # the work queue, nearest due first (GET /v1/cases)
        ],
    }
    #: Indexes of earlier versions, dropped when the service prepares its store (`shared.store.ensure_indexes`):
    #: the store rewrites every index entry of a case it updates (each timer fire), and no query used
    #: (state, opened_at). Partial indexes were measured and left: the embedded store checks a
    #: partial index's filter on every write for as much as the entry it skips would cost.
    retired_indexes = ("state_1_opened_at_1",)

    id = StringField(primary_key=True)  # the complaint id
    ticket = StringField(required=True)
    state = StringField(required=True)
    tier = StringField(required=True)
    category = StringField(required=True)  # the shared Category (older cases: underscores, read as today's)
    priority = StringField(required=True)
    platform = StringField(required=True)
    merchant_id = StringField(required=True)
    complainant_id = StringField(required=True)
    product = StringField(default="")
    amount = DictField(required=True)
    channel = StringField(default="other")
    paid_at = DateTimeField()
    discovered_at = DateTimeField()  # anchors the complaint window (discovery, else incident, else filing)
    opened_at = DateTimeField(required=True)
    updated_at = DateTimeField(required=True)
    resolved_at = DateTimeField()
    outcome = StringField()
    status = DictField(required=True)  # the domain CaseStatus, JSON form
    route = DictField(required=True)  # the domain Route, JSON form
    clocks = ListField(DictField())  # [{name, clock: Clock JSON, warned, breached}]
    breached_clocks = ListField(StringField())
    breach_count = IntField(default=0)  # breaches of clocks the merchant owns (its record)
    lapsed_windows = ListField(StringField())  # the complainant's own windows that lapsed (theirs)
    refusal_record = BooleanField(default=False)
    closed_ticket = BooleanField(default=False)
    freeze_requested = BooleanField(default=False)
    freeze_confirmed_at = DateTimeField()  # confirm_freeze: when the freeze was confirmed, and by whom
    freeze_confirmed_by = StringField()
    evidence_assessment = DictField()  # evidence's latest EvidenceAssessed: missing, score, flags, assessed_at
    debit_confirmed = DictField()  # the channel's PaymentDebitConfirmed for this complaint, if any
    assigned_agent = StringField()
    next_due_at = DateTimeField()  # the handling side's nearest running deadline (repository/queue.py)
    history = ListField(DictField())  # every action: at, actor, action, from, to, reason
    version = IntField(required=True, default=0)


class ParkedFact(Document):
    """A fact about a complaint that arrived before its case (another topic was read first); the
    case takes it when it opens."""

    meta = {"collection": "parked_facts", "indexes": ["complaint_id"]}

    id = StringField(primary_key=True)  # complaint_id:kind
    complaint_id = StringField(required=True)
    kind = StringField(required=True)
    data = DictField()
    at = DateTimeField(required=True)


class Timer(Document):
    """A durable clock deadline, found by a query over what is due (never a scan of cases).

    One index besides the id (repository/timers.py says why)."""

    meta = {
        "collection": "timers",
        "indexes": [("state", "due_at")],
    }
    #: Indexes of earlier versions, dropped when the service prepares its store (`shared.store.ensure_indexes`).
    retired_indexes = ("state_1_lease_until_1", "complaint_id_1_clock_1_kind_1")

    id = StringField(primary_key=True)  # complaint_id:clock:kind
    complaint_id = StringField(required=True)
    ticket = StringField(required=True)
    clock = StringField(required=True)
    kind = StringField(required=True, choices=("warning", "day_before", "breach"))
    due_at = DateTimeField(required=True)
    generation = StringField(default="")  # the clock's start instant: a restarted clock fires anew
    state = StringField(required=True, choices=("scheduled", "firing", "fired", "cancelled", "paused"))
    owner = StringField()
    lease_token = StringField()
    lease_until = DateTimeField()
    fired_at = DateTimeField()
    fired_by = StringField()
    trace = DictField()
