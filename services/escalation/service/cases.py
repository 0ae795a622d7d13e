"""Escalation's logic: opening a case at its first tier with its first clock running."""

from __future__ import annotations

from datetime import timedelta

from opentelemetry import propagate

from services.escalation.models import Case, Timer
from shared.contracts.complaints import ComplaintFiled
from shared.contracts.escalation import CaseOpened, ComplaintStatusChanged
from shared.envelope import utcnow
from shared.ledger import apply_once
from shared.outbox import emit
from shared.store import Tx


def open_case(
    *, event: ComplaintFiled, topic: str, consumer: str, first_response_hours: float
) -> Case:
    """Open the case of a filed complaint, acknowledge it and start the first-response clock."""
    now = utcnow()
    case = Case(
        id=event.complaint_id, ticket=event.ticket, state="acknowledged", tier="internal",
        category=event.category, priority=event.priority, platform=event.platform,
        merchant_id=event.merchant.id, amount=event.order.amount.model_dump(),
        opened_at=now, updated_at=now,
    )
    due = now + timedelta(hours=first_response_hours)
    trace: dict[str, str] = {}
    propagate.inject(trace)
    timer = Timer(id=f"{event.complaint_id}:first_response:breach", complaint_id=event.complaint_id,
                  ticket=event.ticket, clock="first_response", kind="breach", due_at=due,
                  state="scheduled", trace=trace)
    messages = [
        CaseOpened(complaint_id=case.id, ticket=case.ticket, tier=case.tier, state=case.state,
                   clocks=[{"name": "first_response", "due_at": due.isoformat()}]),
        ComplaintStatusChanged(complaint_id=case.id, ticket=case.ticket, from_state="filed",
                               to_state="acknowledged", tier=case.tier, reason="case_opened"),
    ]

    def work(tx: Tx) -> Case:
        tx.insert(case)
        tx.insert(timer)
        emit(tx, topic=topic, messages=messages)
        return case

    return apply_once(consumer=consumer, event=event, work=work)


def get_case(*, ticket: str) -> Case | None:
    """The case of a ticket, or None."""
    return Case.objects(ticket=ticket).first()
