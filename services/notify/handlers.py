"""Notify's subscribers: every event of intake, evidence and escalation that someone must hear about."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from services.notify import reminders, service
from services.notify.worker import DeliveryWorker
from shared.app import ServiceRuntime
from shared.contracts.complaints import ComplaintFiled, ComplaintWithdrawn
from shared.contracts.escalation import (CaseAssigned, ComplaintEscalated, ComplaintStatusChanged,
                                         ResolutionProposed, SlaBreached, SlaWarning)
from shared.contracts.evidence import EvidenceAssessed
from shared.envelope import Event
from shared.store import STORE_UNAVAILABLE, UnitOfWork

log = logging.getLogger(__name__)
ESCALATION_EVENTS: list[Any] = [CaseAssigned, ComplaintStatusChanged, ComplaintEscalated, SlaWarning,
                                SlaBreached, ResolutionProposed]


def register(runtime: ServiceRuntime, *, worker: DeliveryWorker) -> None:
    """Subscribe notify to the three event topics and start the worker and the reminder sweeper."""
    settings = runtime.settings

    def subscribe(topic: str, types: list[Any]) -> None:
        recorded = 0  # deliveries this topic's handlers recorded since its last commit

        async def on_event(event: Event, uow: UnitOfWork) -> None:
            nonlocal recorded
            recorded += await asyncio.to_thread(service.handle_event, uow, event=event, settings=settings)

        def committed() -> None:
            # What the handlers recorded can be claimed once their transaction has committed.
            nonlocal recorded
            if recorded:
                recorded = 0
                worker.wake()

        runtime.subscribe(topic, dict.fromkeys(types, on_event), after_commit=committed, prepare=service.read_ahead)

    topics = settings.topics
    subscribe(topics.intake_events, [ComplaintFiled, ComplaintWithdrawn])
    subscribe(topics.evidence_events, [EvidenceAssessed])
    subscribe(topics.escalation_events, ESCALATION_EVENTS)

    async def sweep() -> None:
        while True:
            try:
                fired = await asyncio.to_thread(reminders.fire_due, runtime.unit(), settings=settings)
                fired += await asyncio.to_thread(service.sweep_parked, runtime.unit(), settings=settings)
                if fired:
                    runtime.relay.wake()
                    worker.wake()
            except STORE_UNAVAILABLE as exc:
                log.warning("reminder sweep waiting for the store: %s", exc)
            await asyncio.sleep(settings.reminder_poll_s)

    runtime.background.extend([worker.run, sweep])
