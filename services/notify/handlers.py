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
from shared.store import STORE_UNAVAILABLE

log = logging.getLogger(__name__)
ESCALATION_EVENTS: list[Any] = [CaseAssigned, ComplaintStatusChanged, ComplaintEscalated, SlaWarning,
                                SlaBreached, ResolutionProposed]


def register(runtime: ServiceRuntime, *, worker: DeliveryWorker) -> None:
    """Subscribe notify to the three event topics and start the worker and the reminder sweeper."""
    settings = runtime.settings

    recorded = 0

    async def on_event(event: Event) -> None:
        nonlocal recorded
        recorded += await asyncio.to_thread(service.handle_event, event=event, settings=settings)

    def committed() -> None:
        # Deliveries a handler recorded can be claimed once their transaction has committed.
        nonlocal recorded
        if recorded:
            recorded = 0
            worker.wake()

    topics = settings.topics
    runtime.subscribe(topics.intake_events, {ComplaintFiled: on_event, ComplaintWithdrawn: on_event},
                      after_commit=committed)
    runtime.subscribe(topics.evidence_events, {EvidenceAssessed: on_event}, after_commit=committed)
    runtime.subscribe(topics.escalation_events, dict.fromkeys(ESCALATION_EVENTS, on_event),
                      after_commit=committed)

    async def sweep() -> None:
        while True:
            try:
                fired = await asyncio.to_thread(reminders.fire_due, settings=settings)
                fired += await asyncio.to_thread(service.sweep_parked, settings=settings)
                if fired:
                    runtime.relay.wake()
                    worker.wake()
            except STORE_UNAVAILABLE as exc:
                log.warning("reminder sweep waiting for the store: %s", exc)
            await asyncio.sleep(settings.reminder_poll_s)

    runtime.background.extend([worker.run, sweep])
