"""The partner-facing event vocabulary, version 1: one CloudEvents 1.0 envelope (structured mode) on the
public Kafka topics and in every webhook body, each type's data described by a JSON Schema
(draft 2020-12) served at its `dataschema` URL (`GET /schemas/{type}.json` on every service).

Data holds codes, the ticket, the complaint id, tiers, times and amounts only: never names,
contacts, card keys or free text. Where text is given it is `summary: {"zh-CN": …, "en": …}`.
Additive changes keep v1; anything else is a new type ending .v2.
"""

from __future__ import annotations

import json
import os
import uuid
from datetime import UTC, datetime
from typing import Any

#: Where partners fetch the schemas; the dataschema URLs are absolute and start with it.
BASE_URL_SETTING = "COMPLAINTS_PUBLIC_BASE_URL"
DEFAULT_BASE_URL = "http://localhost:8004"
DEFAULT_SOURCE = "urn:complaints-suite:notify"
CONTENT_TYPE = "application/cloudevents+json; charset=utf-8"
#: The only Kafka headers a public record carries (structured mode: everything else is in the value).
KAFKA_HEADERS = {"content-type": CONTENT_TYPE}
SPECVERSION = "1.0"

COMPLAINT_FILED = "org.complaints-suite.complaint.filed.v1"
STATUS_CHANGED = "org.complaints-suite.complaint.status_changed.v1"
CASE_ASSIGNED = "org.complaints-suite.case.assigned.v1"
EVIDENCE_REQUESTED = "org.complaints-suite.evidence.requested.v1"
RESOLUTION_PROPOSED = "org.complaints-suite.resolution.proposed.v1"
COMPLAINT_ESCALATED = "org.complaints-suite.complaint.escalated.v1"
FREEZE_REQUESTED = "org.complaints-suite.freeze.requested.v1"
SLA_WARNING = "org.complaints-suite.sla.warning.v1"
SLA_BREACHED = "org.complaints-suite.sla.breached.v1"
COMPLAINT_CLOSED = "org.complaints-suite.complaint.closed.v1"
COMPLAINT_WITHDRAWN = "org.complaints-suite.complaint.withdrawn.v1"
#: Replies to a platform's FileComplaint command (intake's replies topic; subject = `platform:reference`).
FILING_ACCEPTED = "org.complaints-suite.filing.accepted.v1"
FILING_REJECTED = "org.complaints-suite.filing.rejected.v1"

#: The internal event type each public type comes from; subscription filters accept either name.
INTERNAL_ALIASES: dict[str, str] = {
    "ComplaintFiled": COMPLAINT_FILED, "ComplaintStatusChanged": STATUS_CHANGED, "CaseAssigned": CASE_ASSIGNED,
    "EvidenceAssessed": EVIDENCE_REQUESTED, "ResolutionProposed": RESOLUTION_PROPOSED,
    "ComplaintEscalated": COMPLAINT_ESCALATED, "AccountFreezeRequested": FREEZE_REQUESTED,
    "SlaWarning": SLA_WARNING, "SlaBreached": SLA_BREACHED,
}
#: The replies topic's types, by the internal reply they stand for (not webhook events: no filter names them).
REPLY_TYPES = {"ComplaintAccepted": FILING_ACCEPTED, "ComplaintRejected": FILING_REJECTED}
#: A status change into these states is told to webhooks under its own type (still a status change).
CLOSING_STATES = {"closed": COMPLAINT_CLOSED, "withdrawn": COMPLAINT_WITHDRAWN}
#: SLA events reach partners only for the platform's own clocks (and the merchant's, whom the
#: platform answers for); the buyer's private windows and the payment channel's are not theirs.
PARTNER_CLOCK_OWNERS = frozenset({"platform", "merchant"})
TIERS = ["automatic", "internal", "platform", "payment_channel", "external", "legal"]

_CODE = "^[a-z][a-z0-9_]{0,39}$"
_TIME = {"type": "string", "format": "date-time", "description": "RFC 3339, UTC, milliseconds."}
_CODE_OR_NULL = {"type": ["string", "null"], "pattern": _CODE}
_MONEY = {"type": "object", "additionalProperties": False, "required": ["amount_minor", "currency"],
          "description": "Integer minor units (fen for CNY) and the ISO 4217 currency.",
          "properties": {"amount_minor": {"type": "integer", "minimum": 0},
                         "currency": {"type": "string", "pattern": "^[A-Z]{3}$"}}}
_MONEY_OR_NULL = {"anyOf": [_MONEY, {"type": "null"}]}
_TIER_OR_NULL = {"type": ["string", "null"], "enum": [*TIERS, None]}
_BASE = {
    "complaint_id": {"type": "string", "pattern": "^[A-Za-z0-9_-]{1,64}$",
                     "description": "Opaque complaint id: the Kafka key, the CloudEvents subject, "
                                    "and `id` in intake's views."},
    "ticket": {"type": "string", "pattern": "^[A-Za-z0-9-]{1,40}$",
               "description": "Ticket (acceptance) number the complainant quotes."},
    "occurred_at": _TIME,
}
_SUMMARY = {"type": "object", "additionalProperties": False, "required": ["zh-CN", "en"],
            "description": "What happened in a sentence, in Chinese and English (webhooks; no personal data).",
            "properties": {"zh-CN": {"type": "string", "maxLength": 500}, "en": {"type": "string", "maxLength": 500}}}
_STATUS = {
    "from_state": {**_CODE_OR_NULL, "description": "State before; null for the first record (the filing)."},
    "to_state": {"type": "string", "pattern": _CODE, "description": "State after: filed, acknowledged, …, closed."},
    "tier": {**_TIER_OR_NULL, "description": "Tier handling the complaint after the change."},
    "reason_code": {**_CODE_OR_NULL, "description": "Machine-readable reason or the action that caused it."},
}

#: type -> (zh-CN title, English title, type-specific properties, which of them are required).
_TYPES: dict[str, tuple[str, str, dict[str, Any], list[str]]] = {
    COMPLAINT_FILED: ("投诉已受理", "Complaint filed", {
        "category": {"type": "string", "pattern": "^[a-z][a-z0-9_-]{0,39}$"},
        "priority": {"type": "string", "enum": ["urgent", "high", "normal"]},
        "amount": _MONEY_OR_NULL, "order_number": {"type": ["string", "null"], "maxLength": 64},
        "platform_reference": {"type": ["string", "null"], "maxLength": 128},
        "first_answer_due": _TIME}, ["category", "priority", "amount", "order_number", "first_answer_due"]),
    STATUS_CHANGED: ("投诉状态变更", "Complaint status changed", _STATUS, list(_STATUS)),
    COMPLAINT_CLOSED: ("投诉已结案", "Complaint closed", _STATUS, list(_STATUS)),
    COMPLAINT_WITHDRAWN: ("投诉已撤回", "Complaint withdrawn", _STATUS, list(_STATUS)),
    CASE_ASSIGNED: ("已分配处理人员", "Case assigned to an agent", {}, []),
    EVIDENCE_REQUESTED: ("需要补充证据", "Evidence requested", {
        "missing": {"type": "array", "minItems": 1, "items": {"type": "string", "pattern": _CODE}},
        "due_at": {"anyOf": [_TIME, {"type": "null"}]}}, ["missing", "due_at"]),
    RESOLUTION_PROPOSED: ("已提出解决方案", "Resolution proposed", {
        "outcome": {"type": "string", "pattern": _CODE}, "automatic": {"type": "boolean"},
        "refund": _MONEY_OR_NULL, "compensation": _MONEY_OR_NULL, "amount": _MONEY_OR_NULL,
        "compensation_basis": _CODE_OR_NULL},
        ["outcome", "automatic", "refund", "compensation", "compensation_basis"]),
    COMPLAINT_ESCALATED: ("投诉已升级", "Complaint escalated", {
        "from_tier": _TIER_OR_NULL, "to_tier": {"type": "string", "enum": TIERS}, "reason_code": _CODE_OR_NULL},
        ["from_tier", "to_tier", "reason_code"]),
    FREEZE_REQUESTED: ("请求冻结账户或支付工具", "Account or payment instrument freeze requested", {
        "freeze": {"type": "array", "minItems": 1, "items": {"type": "string", "pattern": _CODE},
                   "description": "account, payment_instrument, merchant_settlement."},
        "order_number": {"type": ["string", "null"], "maxLength": 64},
        "payment_channel": _CODE_OR_NULL, "transaction_id": {"type": ["string", "null"], "maxLength": 128},
        "reason_code": _CODE_OR_NULL},
        ["freeze", "order_number", "payment_channel", "transaction_id", "reason_code"]),
    SLA_WARNING: ("处理时限即将到期", "SLA warning (the platform's own clock)", {
        "clock": {"type": "string", "pattern": _CODE},
        "owner": {"type": "string", "enum": sorted(PARTNER_CLOCK_OWNERS)},
        "due_at": _TIME, "stage": {"type": "string", "enum": ["share", "day_before"]}},
        ["clock", "owner", "due_at", "stage"]),
    SLA_BREACHED: ("处理时限已超时", "SLA breached (the platform's own clock)", {
        "clock": {"type": "string", "pattern": _CODE},
        "owner": {"type": "string", "enum": sorted(PARTNER_CLOCK_OWNERS)},
        "due_at": _TIME, "escalated_to": _TIER_OR_NULL}, ["clock", "owner", "due_at", "escalated_to"]),
}
_REPLY = {"platform": {"type": "string", "maxLength": 128, "description": "The platform the reply is for."},
          "platform_reference": {"type": "string", "maxLength": 128, "description": "The platform's reference."}}
_ERROR = {"type": "object", "required": ["field", "rule", "message"], "additionalProperties": {"type": "string"},
          "description": "A refused field: its path, the rule it broke, and the message (message_zh in Chinese)."}
_TYPES |= {
    FILING_ACCEPTED: ("投诉已受理（平台提交）", "Filing accepted", {
        **_REPLY, "ticket": _BASE["ticket"], "already_existed": {"type": "boolean"},
        "complaint_id": {**_BASE["complaint_id"], "type": ["string", "null"]}},
        ["platform", "platform_reference", "ticket", "already_existed"]),
    FILING_REJECTED: ("投诉提交被拒绝", "Filing rejected", {
        **_REPLY, "errors": {"type": "array", "minItems": 1, "items": _ERROR}},
        ["platform", "platform_reference", "errors"]),
}
#: Types not about one complaint yet (replies): their data need not carry complaint_id and ticket.
_WITHOUT_COMPLAINT = frozenset({FILING_ACCEPTED, FILING_REJECTED})
PUBLIC_TYPES = sorted(_TYPES)


def base_url() -> str:
    """The public base URL of the schemas (setting COMPLAINTS_PUBLIC_BASE_URL), without a trailing slash."""
    return (os.environ.get(BASE_URL_SETTING) or DEFAULT_BASE_URL).rstrip("/")


def schema_url(event_type: str) -> str:
    """The absolute `dataschema` URL of a public type: where its JSON Schema is served."""
    return f"{base_url()}/schemas/{event_type}.json"


def titles(event_type: str) -> dict[str, str]:
    """The type's name in Chinese and English."""
    zh, en, _props, _required = _TYPES[event_type]
    return {"zh-CN": zh, "en": en}


def schema_of(event_type: str) -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of a public type's data; KeyError for an unknown type."""
    zh, en, props, required = _TYPES[event_type]
    base = {"occurred_at": _TIME} if event_type in _WITHOUT_COMPLAINT else _BASE
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema", "$id": schema_url(event_type),
        "title": f"{en} ({zh}), data of {event_type}",
        "description": f"Data of the CloudEvent of type {event_type}. Codes, ids, times and amounts only: no "
                       "names, contacts, card data or free text. Keys in `required` are always present (null "
                       "when absent); `summary` is given in webhooks.",
        "type": "object", "additionalProperties": False,
        "required": [*base, *required],
        "properties": {**base, **props, "summary": _SUMMARY},
    }


def public_type(internal_type: str, *, to_state: str | None = None) -> str | None:
    """The public type an internal event is told to partners under (None: not partner-facing)."""
    if internal_type == "ComplaintStatusChanged" and to_state in CLOSING_STATES:
        return CLOSING_STATES[to_state]
    return INTERNAL_ALIASES.get(internal_type)


def filter_names(event_type: str) -> set[str]:
    """Every name a subscription filter may use to receive this public type: the type itself, its
    internal alias (existing subscriptions keep working), and for a closing, the status change."""
    names = {event_type} | {old for old, new in INTERNAL_ALIASES.items() if new == event_type}
    if event_type in CLOSING_STATES.values():
        names |= {STATUS_CHANGED, "ComplaintStatusChanged"}
    return names


#: What a subscription filter accepts: the public types and the internal names kept as aliases.
FILTER_NAMES = sorted({*PUBLIC_TYPES, *INTERNAL_ALIASES} - set(REPLY_TYPES.values()))
#: The public types a webhook body can carry (every public type but the replies topic's).
WEBHOOK_TYPES = sorted(set(PUBLIC_TYPES) - set(REPLY_TYPES.values()))


def rfc3339(moment: datetime) -> str:
    """UTC with milliseconds and Z, the one time format of public data."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def event_id(event_type: str, key: str) -> str:
    """A stable CloudEvents id for one fact: the same fact told again (topic, webhook, replay) keeps it."""
    # Status changes (key: the change's event id) and freeze requests (key: freeze:<complaint id>) keep
    # the ids they had before this vocabulary; other types are named in the key.
    legacy = event_type == STATUS_CHANGED or (event_type == FREEZE_REQUESTED and key.startswith("freeze:"))
    return str(uuid.uuid5(_ID_NAMESPACE, key if legacy else f"{event_type}\x1f{key}"))


# Kept from the first status events, so ids published before this module stay the same.
_ID_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "urn:complaints-suite:schema:complaint-status-changed:v1")


def cloud_event(*, event_type: str, subject: str, data: dict[str, Any], time: datetime, key: str,
                source: str = DEFAULT_SOURCE, id_: str | None = None) -> dict[str, Any]:
    """One public event: the CloudEvents 1.0 JSON object (structured mode). `key` names the fact
    (e.g. the internal event id) and gives the stable id; `subject` is the complaint id."""
    if event_type not in _TYPES:
        raise KeyError(f"{event_type} is not a public event type; known: {PUBLIC_TYPES}")
    return {"specversion": SPECVERSION, "id": id_ or event_id(event_type, key), "source": source,
            "type": event_type, "subject": subject, "time": rfc3339(time),
            "datacontenttype": "application/json", "dataschema": schema_url(event_type),
            "partitionkey": subject, "data": data}


def to_json(event: dict[str, Any]) -> str:
    """The event as compact JSON: a public record's value and a webhook's body."""
    return json.dumps(event, ensure_ascii=False, separators=(",", ":"))


def to_webhook_body(event: dict[str, Any]) -> str:
    """A webhook body IS the CloudEvent (structured mode); Standard Webhooks headers sign it."""
    return to_json(event)


def is_cloud_event_headers(headers: dict[str, Any] | None) -> bool:
    """Whether an outbox entry's own Kafka headers mark a public CloudEvent (no internal headers added)."""
    if not headers:
        return False
    content_type = str(headers.get("content-type", ""))
    return "ce_specversion" in headers or content_type.startswith("application/cloudevents")
