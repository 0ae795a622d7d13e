"""What other services tell a case about its outcome: the latest evidence assessment, the channel's
confirmed debit (the automatic tier's full refund) and a complainant's statement."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from services.escalation.domain.actions import Action, ActionInvalid, IllegalTransition
from services.escalation.domain.states import Outcome, Resolution, State
from services.escalation.domain.terms import Party
from services.escalation.domain.transitions import perform
from services.escalation.repository import cases
from services.escalation.service.acting import no_7day_refusal, refusal_recorded, with_money
from services.escalation.service.rules import Rules
from services.escalation.service.steps import save_step, status_of
from shared.contracts.complaints import ComplaintUpdated
from shared.contracts.evidence import EvidenceAssessed, EvidenceFileOpened, PaymentDebitConfirmed
from shared.envelope import Event, Message, utcnow
from shared.ledger import apply_once
from shared.money import Money
from shared.outbox import emit
from shared.store import UnitOfWork

# A channel record in these states shows no debit standing: nothing for the automatic tier to refund.
_NO_DEBIT = frozenset({"refunded", "failed"})


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def assessment_of(event: EvidenceAssessed) -> dict[str, Any]:
    """The assessment as a case keeps it."""
    return {"missing": list(event.missing), "score": event.completeness_score, "flags": list(event.flags),
            "findings": list(event.findings), "merchant_missing": list(event.merchant_missing),
            "merchant_burden_met": event.merchant_burden_met, "assessed_at": event.occurred_at}


def read_ahead(events: list[Message], uow: UnitOfWork) -> None:
    """Read, for a consumer's group of evidence events, the cases they name in one query rather
    than one per event (see UnitOfWork.read_ahead)."""
    cases.read_ahead_cases(uow, complaint_ids=[e.complaint_id for e in events if isinstance(e, Event)])


def record_assessment(uow: UnitOfWork, *, event: EvidenceAssessed, consumer: str) -> None:
    """Keep the latest assessment of the complaint's evidence on its case (an older one never wins)."""
    _keep_assessment(uow, event=event, assessment=assessment_of(event), consumer=consumer)


def record_opening(uow: UnitOfWork, *, event: EvidenceFileOpened, consumer: str) -> None:
    """The evidence file's first assessment, carried by its opening: until evidence assesses again,
    a money offer is gated on what it finds missing (no file is ever taken as complete unread)."""
    first = {"missing": list(event.missing or event.required_kinds), "score": 0, "flags": [], "findings": [],
             "merchant_missing": [], "merchant_burden_met": None, "assessed_at": event.occurred_at}
    _keep_assessment(uow, event=event, assessment=first, consumer=consumer)


def _keep_assessment(uow: UnitOfWork, *, event: EvidenceAssessed | EvidenceFileOpened, assessment: dict[str, Any],
                     consumer: str) -> None:
    def work(tx: UnitOfWork) -> None:
        doc = cases.get_case(tx, complaint_id=event.complaint_id)
        if doc is None:
            cases.park_fact(tx, complaint_id=event.complaint_id, kind="evidence_assessment",
                            data=assessment, at=event.occurred_at)
            return
        seen = (doc.get("evidence_assessment") or {}).get("assessed_at")
        if seen is not None and _aware(seen) > event.occurred_at:
            return
        cases.update_case(tx, doc=doc, fields={"evidence_assessment": assessment})

    apply_once(uow, consumer=consumer, event=event, work=work)


def debit_of(event: PaymentDebitConfirmed) -> dict[str, Any]:
    """The channel's confirmation as a case keeps it."""
    return {"transaction_id": event.transaction_id, "amount": event.amount.model_dump(), "source": event.source,
            "record_status": event.record_status, "confirmed_at": event.occurred_at}


def automatic_refund(tx: UnitOfWork, *, doc: dict[str, Any], debit: dict[str, Any], rules: Rules,
                     topic: str) -> dict[str, Any]:
    """At the automatic tier, a debit the channel confirms gets a full-refund offer at once (no agent)."""
    status = status_of(doc)
    fields = {"debit_confirmed": debit}
    if not status.automatic or status.state is not State.ACKNOWLEDGED or debit["record_status"] in _NO_DEBIT:
        cases.update_case(tx, doc=doc, fields=fields)
        return {**doc, **fields, "version": doc["version"] + 1}
    price = Money.model_validate(doc["amount"])
    reason = (f"the payment channel ({debit['source']}) confirmed the debit of transaction "
              f"{debit['transaction_id']} with no order: full refund by the automatic tier")
    try:
        step = perform(status=status, action=Action.PROPOSE_RESOLUTION, actor=Party.SYSTEM, at=utcnow(),
                       reason=reason, resolution=Resolution(outcome=Outcome.REFUND, refund=price, reason=reason),
                       reopen_window=rules.reopen_window)
    except (IllegalTransition, ActionInvalid):
        cases.update_case(tx, doc=doc, fields=fields)
        return {**doc, **fields, "version": doc["version"] + 1}
    step = with_money(step=step, before=status, doc=doc, rules=rules)
    return save_step(tx, doc=doc, step=step, rules=rules, topic=topic, actor_id="automatic", fields=fields)


def debit_confirmed(uow: UnitOfWork, *, event: PaymentDebitConfirmed, rules: Rules, topic: str,
                    consumer: str) -> None:
    """The channel confirmed the complaint's debit: the automatic tier refunds; else it is kept on the case."""

    def work(tx: UnitOfWork) -> None:
        doc = cases.get_case(tx, complaint_id=event.complaint_id)
        if doc is None:
            cases.park_fact(tx, complaint_id=event.complaint_id, kind="debit_confirmed", data=debit_of(event),
                            at=event.occurred_at)
            return
        automatic_refund(tx, doc=doc, debit=debit_of(event), rules=rules, topic=topic)

    apply_once(uow, consumer=consumer, event=event, work=work)


def statement_added(uow: UnitOfWork, *, event: ComplaintUpdated, rules: Rules, topic: str, consumer: str) -> None:
    """A complainant's statement: an automatic-tier case goes on to internal handling, and a merchant's
    "virtual goods: no 7-day return" refusal it reports is recorded as a failed internal answer."""
    text = str(event.detail.get("text", ""))

    def work(tx: UnitOfWork) -> None:
        doc = cases.get_case(tx, complaint_id=event.complaint_id)
        if doc is None:
            return
        status = status_of(doc)
        refused = no_7day_refusal(doc=doc, rules=rules, texts=[text]) and status.state.value not in {
            "resolved", "closed", "withdrawn"}
        fields: dict[str, Any]
        after, fields = [], {}
        if refused:
            after.append(refusal_recorded(doc=doc, by="merchant (reported by the complainant)", at=utcnow(),
                                          state=status.state.value, tier=status.tier.value,
                                          action="statement_added", fields=fields))
        if status.automatic and status.state is State.ACKNOWLEDGED:
            step = perform(status=status, action=Action.ESCALATE, actor=Party.SYSTEM, at=utcnow(),
                           reason="the complainant added a statement: internal handling takes over",
                           reopen_window=rules.reopen_window)
            save_step(tx, doc=doc, step=step, rules=rules, topic=topic, after=after, fields=fields)
        elif refused:
            cases.update_case(tx, doc=doc, fields=fields,
                              history={"at": utcnow(), "actor": "system", "action": "refusal_recorded",
                                       "reason": "no_7day_return_virtual_goods (reported by the complainant)"})
            emit(tx, topic=topic, messages=after)

    apply_once(uow, consumer=consumer, event=event, work=work)
