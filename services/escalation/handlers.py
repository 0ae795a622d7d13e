"""Escalation's subscribers: open cases, follow withdrawals, corrections, statements and evidence
(submissions, assessments, the channel's confirmed debit)."""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable
from typing import Any

from services.escalation.domain.actions import Action
from services.escalation.domain.states import State
from services.escalation.service import acting, opening, outcomes
from services.escalation.service.rules import Rules
from shared.app import ServiceRuntime
from shared.contracts.complaints import ComplaintFiled, ComplaintUpdated, ComplaintWithdrawn
from shared.contracts.evidence import EvidenceAssessed, EvidenceFileOpened, EvidenceSubmitted, PaymentDebitConfirmed
from shared.store import UnitOfWork

_AWAITING_EVIDENCE = frozenset({State.AWAITING_EVIDENCE})


def register(runtime: ServiceRuntime, *, rules: Rules, wake_timers: Callable[[], None]) -> None:
    """Subscribe escalation to intake's and evidence's events."""
    settings = runtime.settings
    common: dict[str, Any] = dict(rules=rules, topic=settings.topics.escalation_events, consumer=settings.service_name)

    async def on_complaint_filed(event: ComplaintFiled, uow: UnitOfWork) -> None:
        await asyncio.to_thread(opening.open_case, uow, event=event, **common)

    async def on_complaint_withdrawn(event: ComplaintWithdrawn, uow: UnitOfWork) -> None:
        await asyncio.to_thread(acting.apply_party_event, uow, event=event, action=Action.WITHDRAW,
                                only_in=None, request=acting.ActionRequest(reason=event.reason),
                                actor_id="intake", **common)

    async def on_complaint_updated(event: ComplaintUpdated, uow: UnitOfWork) -> None:
        if event.change == "statement_added":
            await asyncio.to_thread(outcomes.statement_added, uow, event=event, **common)
        if event.change != "category_corrected":
            return
        await asyncio.to_thread(opening.correct_category, uow, event=event, **common)

    async def on_evidence_assessed(event: EvidenceAssessed, uow: UnitOfWork) -> None:
        # The latest assessment gates money offers (what is missing, named to the agent).
        await asyncio.to_thread(outcomes.record_assessment, uow, event=event, consumer=settings.service_name)

    async def on_file_opened(event: EvidenceFileOpened, uow: UnitOfWork) -> None:
        # The file's first assessment gates money offers until evidence assesses it again.
        await asyncio.to_thread(outcomes.record_opening, uow, event=event, consumer=settings.service_name)

    async def on_debit_confirmed(event: PaymentDebitConfirmed, uow: UnitOfWork) -> None:
        # The channel's own record: at the automatic tier, a full refund is offered at once.
        await asyncio.to_thread(outcomes.debit_confirmed, uow, event=event, **common)

    async def on_evidence_submitted(event: EvidenceSubmitted, uow: UnitOfWork) -> None:
        # Evidence arriving while the case waits for it lets the case (and its clocks) go on.
        await asyncio.to_thread(acting.apply_party_event, uow, event=event, action=Action.PROVIDE_EVIDENCE,
                                only_in=_AWAITING_EVIDENCE,
                                request=acting.ActionRequest(reason=f"evidence {event.number}: {event.kind}"),
                                actor_id="evidence", **common)

    # Clocks a handler started are looked at once its transaction has committed.
    runtime.subscribe(settings.topics.intake_events, {
        ComplaintFiled: on_complaint_filed, ComplaintWithdrawn: on_complaint_withdrawn,
        ComplaintUpdated: on_complaint_updated}, after_commit=wake_timers,
        prepare=functools.partial(opening.read_ahead, rules=rules))
    runtime.subscribe(settings.topics.evidence_events, {
        EvidenceSubmitted: on_evidence_submitted, EvidenceAssessed: on_evidence_assessed,
        EvidenceFileOpened: on_file_opened,
        PaymentDebitConfirmed: on_debit_confirmed}, after_commit=wake_timers, prepare=outcomes.read_ahead)
