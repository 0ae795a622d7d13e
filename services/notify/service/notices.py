"""What notify tells about each event: the Notice for the templates and the partner payload."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from services.notify.domain.labels import COMPLAINANT_CLOCKS
from services.notify.domain.notice import Language, Notice, Role
from services.notify.domain.render import render_sms
from services.notify.domain.scrub import references
from services.notify.domain.status_event import StatusChange, public_reason_code, status_data
from shared.contracts import public
from shared.contracts.complaints import AccountFreezeRequested, ComplaintFiled
from shared.contracts.escalation import (
    AccountFreezeConfirmed,
    ComplaintEscalated,
    ComplaintStatusChanged,
    ResolutionProposed,
    SlaBreached,
    SlaWarning,
)
from shared.contracts.evidence import EvidenceAssessed
from shared.envelope import Event
from shared.status_link import sign_link

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


def status_link(event: ComplaintFiled, settings: Any) -> str:
    """The complainant's signed link to their ticket's status page on the console."""
    token = sign_link(secret=settings.status_link_secret or settings.auth_secret, ticket=event.ticket,
                      complainant_id=event.complainant.id, platform=event.platform,
                      ttl=timedelta(days=settings.status_link_days))
    return f"{str(settings.console_url).rstrip('/')}/s/{token}"


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
    """What the partner must freeze, for which order and channel, and why (a code): no personal data.

    A request without its order number (intake's, at filing) names the complaint's order."""
    return {"freeze": list(event.freeze), "order_number": event.order_number or order_no,
            "payment_channel": event.payment_channel or None, "transaction_id": event.transaction_id,
            "reason_code": public_reason_code(reason=event.reason)}


def status_change(*, event: ComplaintStatusChanged) -> StatusChange:
    """The partner-facing view of a ComplaintStatusChanged: codes only (a typed reason gives the action's code)."""
    return StatusChange(source_event_id=event.event_id, complaint_id=event.complaint_id,
                        ticket=event.ticket, from_state=event.from_state or None,
                        to_state=event.to_state, tier=event.tier if event.tier in _TIERS else None,
                        occurred_at=event.occurred_at,
                        reason_code=public_reason_code(reason=event.reason, action=event.action))


def filing_change(*, event: ComplaintFiled) -> StatusChange:
    """The first status record of a complaint: its filing (from nothing to filed)."""
    return StatusChange(source_event_id=event.event_id, complaint_id=event.complaint_id, ticket=event.ticket,
                        from_state=None, to_state="filed", tier=None, occurred_at=event.filed_at,
                        reason_code=None)


def clock_owner(event: SlaWarning | SlaBreached) -> str:
    """Whose clock: as the event says; old events name none (the buyer's clocks are the buyer's, the rest the
    platform's)."""
    return event.owner or ("complainant" if event.clock in COMPLAINANT_CLOCKS else "platform")


def partner_type(event: Event) -> str | None:
    """The public type an event is told to partners under; None when partners are not told of it
    (a status change that changes nothing, an assessment asking for nothing, a clock not the platform's)."""
    if isinstance(event, ComplaintStatusChanged):
        return None if event.from_state == event.to_state else public.public_type(event.type, to_state=event.to_state)
    if isinstance(event, EvidenceAssessed) and not event.missing:
        return None
    if isinstance(event, SlaWarning | SlaBreached) and clock_owner(event) not in public.PARTNER_CLOCK_OWNERS:
        return None
    if isinstance(event, ComplaintEscalated) and event.to_tier not in _TIERS:
        return None
    return public.public_type(event.type)


def _money_of(value: Any) -> dict[str, Any] | None:
    return {"amount_minor": value.amount_minor, "currency": value.currency} if value is not None else None


def _data(event: Event, notice: Notice, order_no: str | None) -> dict[str, Any]:
    if isinstance(event, ComplaintFiled):
        return {"category": event.category, "priority": event.priority, "amount": _money_of(event.order.amount),
                "order_number": event.order.order_number, "platform_reference": event.platform_reference,
                "first_answer_due": public.rfc3339(event.filed_at + FIRST_ANSWER)}
    if isinstance(event, ComplaintStatusChanged):
        return status_data(change=status_change(event=event))
    if isinstance(event, EvidenceAssessed):
        return {"missing": list(event.missing), "due_at": public.rfc3339(notice.deadline) if notice.deadline else None}
    if isinstance(event, ResolutionProposed):
        minor, currency = _money(event.detail)
        old = {"amount": {"amount_minor": minor, "currency": currency}} if minor is not None and currency else {}
        return {"outcome": event.outcome, "automatic": event.automatic, "refund": _money_of(event.refund),
                "compensation": _money_of(event.compensation),
                "compensation_basis": public_reason_code(reason=event.compensation_basis)} | old
    if isinstance(event, ComplaintEscalated):
        return {"from_tier": event.from_tier if event.from_tier in _TIERS else None, "to_tier": event.to_tier,
                "reason_code": public_reason_code(reason=event.reason)}
    if isinstance(event, AccountFreezeRequested):
        return freeze_data(event=event, order_no=order_no)
    if isinstance(event, SlaWarning):
        return {"clock": event.clock, "owner": clock_owner(event), "due_at": public.rfc3339(event.due_at),
                "stage": event.stage}
    if isinstance(event, SlaBreached):
        return {"clock": event.clock, "owner": clock_owner(event), "due_at": public.rfc3339(event.due_at),
                "escalated_to": event.escalated_to if event.escalated_to in _TIERS else None}
    return {}  # CaseAssigned: who took it is the platform's staff, not the partner's business


def public_event(*, event: Event, notice: Notice, order_no: str | None = None) -> dict[str, Any] | None:
    """The partner-facing CloudEvent (JSON object) of an event, with its summary in Chinese and English."""
    kind = partner_type(event)
    if kind is None:
        return None
    data = {"complaint_id": event.complaint_id, "ticket": event.ticket,
            "occurred_at": public.rfc3339(event.occurred_at)} | _data(event, notice, order_no)
    data["summary"] = {language.value: render_sms(notice=notice, role=Role.PARTNER, language=language)
                       for language in (Language.ZH_CN, Language.EN)}
    key = f"freeze:{event.complaint_id}" if isinstance(event, AccountFreezeRequested) else event.event_id
    return public.cloud_event(event_type=kind, subject=event.complaint_id, data=data, time=event.occurred_at, key=key)


def webhook_body(*, event: Event, notice: Notice, order_no: str | None = None) -> str:
    """What a partner's endpoint receives: the CloudEvent itself (structured mode JSON)."""
    found = public_event(event=event, notice=notice, order_no=order_no)
    if found is None:
        raise ValueError(f"{event.type} {event.event_id} is not told to partners")
    return public.to_webhook_body(found)
