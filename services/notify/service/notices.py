"""What notify tells about each event: the Notice for the templates and the partner payload."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

from services.notify.domain.notice import Notice
from services.notify.domain.status_event import StatusChange, public_reason_code, status_data
from services.notify.domain.scrub import references, scrub
from shared.contracts.complaints import AccountFreezeRequested, ComplaintFiled
from shared.contracts.escalation import (AccountFreezeConfirmed, ComplaintEscalated, ComplaintStatusChanged,
                                         ResolutionProposed, SlaBreached, SlaWarning)
from shared.contracts.evidence import EvidenceAssessed
from shared.envelope import Event

FIRST_ANSWER = timedelta(hours=24)
_TIERS = {"automatic", "internal", "platform", "payment_channel", "external", "legal"}


def _money(detail: dict[str, Any]) -> tuple[int | None, str | None]:
    amount = detail.get("amount")
    if isinstance(amount, dict) and isinstance(amount.get("amount_minor"), int):
        return amount["amount_minor"], amount.get("currency")
    return None, None


def create_notice(*, event: Event, order_no: str | None = None,
                  evidence_due: datetime | None = None) -> Notice:
    """The template facts of one event; free text is never copied, only codes and numbers."""
    fields: dict[str, Any] = {"event_id": event.event_id, "event_type": event.type,
                              "complaint_id": event.complaint_id, "ticket": event.ticket,
                              "occurred_at": event.occurred_at, "order_no": order_no}
    if isinstance(event, ComplaintFiled):
        amount = event.order.amount
        fields |= {"order_no": event.order.order_number, "deadline": event.filed_at + FIRST_ANSWER,
                   "amount_minor": amount.amount_minor, "currency": amount.currency}
    elif isinstance(event, ComplaintStatusChanged):
        fields |= {"from_state": event.from_state, "to_state": event.to_state, "tier": event.tier,
                   "reason": public_reason_code(reason=event.reason), "details": _references(event.reason)}
    elif isinstance(event, ComplaintEscalated):
        fields |= {"tier": event.to_tier, "reason": public_reason_code(reason=event.reason),
                   "details": _references(event.reason)}
    elif isinstance(event, EvidenceAssessed):
        fields |= {"missing_evidence": tuple(event.missing),
                   "deadline": evidence_due if event.missing else None}
    elif isinstance(event, SlaWarning | SlaBreached):
        fields |= {"deadline": event.due_at, "reason": event.clock, "clock": event.clock,
                   "owner": event.owner or None, "stage": event.stage if isinstance(event, SlaWarning) else None,
                   "tier": (event.escalated_to or None) if isinstance(event, SlaBreached) else None}
    elif isinstance(event, ResolutionProposed):
        fields |= _offer(event)
    elif isinstance(event, AccountFreezeRequested):
        fields |= {"freeze": tuple(event.freeze), "payment_channel": event.payment_channel,
                   "order_no": event.order_number or order_no}
    elif isinstance(event, AccountFreezeConfirmed):
        fields |= {"confirmed_by": event.confirmed_by or None}
    return Notice(**fields)


def _references(reason: str) -> dict[str, str]:
    # Free text is never copied; a reference a regulator or channel gave (12315 受理号 …) is, whole.
    found = references(reason)
    return {"reference": "；".join(found)} if found else {}


def _offer(event: ResolutionProposed) -> dict[str, Any]:
    """An offer's parts: the refund and the compensation with its basis (old offers: one amount)."""
    minor, currency = _money(event.detail)
    parts: dict[str, Any] = {"outcome": event.outcome, "automatic": event.automatic,
                             "compensation_basis": event.compensation_basis or None}
    if event.refund is not None:
        parts |= {"refund_minor": event.refund.amount_minor, "refund_currency": event.refund.currency}
    if event.compensation is not None:
        parts |= {"compensation_minor": event.compensation.amount_minor,
                  "compensation_currency": event.compensation.currency}
    if event.refund is None and event.compensation is None and minor is not None:
        parts |= {"amount_minor": minor, "currency": currency}
    return parts


def freeze_data(*, event: AccountFreezeRequested, order_no: str | None = None) -> dict[str, Any]:
    """What the partner must freeze, for which order and channel, and why: no personal data.

    A request without its order number (intake's, at filing) names the complaint's order."""
    reason = public_reason_code(reason=event.reason)
    return {"freeze": list(event.freeze), "order_number": event.order_number or order_no,
            "payment_channel": event.payment_channel,
            "transaction_id": event.transaction_id,
            # Free text may name a person: contacts masked, secrets removed, order numbers kept.
            "reason": reason or scrub(event.reason, mask_contacts=True,
                                      keep=[k for k in (event.order_number, event.transaction_id, event.ticket) if k])}


def status_change(*, event: ComplaintStatusChanged) -> StatusChange:
    """The partner-facing view of a ComplaintStatusChanged: codes only."""
    return StatusChange(source_event_id=event.event_id, complaint_id=event.complaint_id,
                        ticket=event.ticket, from_state=event.from_state or None,
                        to_state=event.to_state, tier=event.tier if event.tier in _TIERS else None,
                        occurred_at=event.occurred_at, reason_code=public_reason_code(reason=event.reason))


def webhook_payload(*, event: Event, summary: str, order_no: str | None = None) -> str:
    """The JSON a partner's endpoint receives: type, timestamp and data (no contacts, no secrets)."""
    data: dict[str, Any] = {"complaint_id": event.complaint_id, "ticket": event.ticket,
                            "event_id": event.event_id, "summary": summary}
    if isinstance(event, ComplaintStatusChanged):
        data |= status_data(change=status_change(event=event))
    if isinstance(event, AccountFreezeRequested):
        data |= freeze_data(event=event, order_no=order_no)
    return json.dumps({"type": event.type, "timestamp": event.occurred_at.isoformat(), "data": data},
                      ensure_ascii=False, separators=(",", ":"))
