"""Evidence's subscribers: filed, corrected, withdrawn and closed complaints; payment records."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from services.evidence.config import EvidenceSettings
from services.evidence.service import channel, files
from shared.app import ServiceRuntime
from shared.contracts.complaints import ComplaintFiled, ComplaintUpdated, ComplaintWithdrawn
from shared.contracts.escalation import ComplaintStatusChanged
from shared.contracts.evidence import PaymentRecordPublished
from shared.store import UnitOfWork


def register(runtime: ServiceRuntime) -> None:
    """Subscribe evidence to intake's and escalation's events and to the payment records."""
    settings: EvidenceSettings = runtime.settings  # type: ignore[assignment]
    window = timedelta(hours=settings.relevance_window_hours)
    events_topic, consumer = settings.topics.evidence_events, settings.service_name

    async def on_complaint_filed(event: ComplaintFiled, uow: UnitOfWork) -> None:
        await asyncio.to_thread(files.open_file, uow, event=event, topic=events_topic,
                                consumer=consumer, window=window)
        runtime.relay.wake()

    async def on_complaint_updated(event: ComplaintUpdated, uow: UnitOfWork) -> None:
        await asyncio.to_thread(files.correct_category, uow, event=event, topic=events_topic,
                                consumer=consumer, window=window)
        runtime.relay.wake()

    async def on_withdrawn(event: ComplaintWithdrawn, uow: UnitOfWork) -> None:
        await asyncio.to_thread(files.set_status, uow, event=event, status="withdrawn",
                                consumer=consumer)

    async def on_status_changed(event: ComplaintStatusChanged, uow: UnitOfWork) -> None:
        if event.to_state in files.CLOSED_STATES:
            status = event.to_state
        elif event.from_state in files.CLOSED_STATES:
            status = "open"  # reopened
        else:
            return
        await asyncio.to_thread(files.set_status, uow, event=event, status=status,
                                consumer=consumer)

    async def on_payment_record(message: PaymentRecordPublished, uow: UnitOfWork) -> None:
        await asyncio.to_thread(channel.apply_record, uow, message=message, topic=events_topic,
                                consumer=consumer, window=window)
        runtime.relay.wake()

    runtime.subscribe(settings.topics.intake_events, {
        ComplaintFiled: on_complaint_filed, ComplaintUpdated: on_complaint_updated,
        ComplaintWithdrawn: on_withdrawn}, prepare=files.read_ahead)
    runtime.subscribe(settings.topics.escalation_events,
                      {ComplaintStatusChanged: on_status_changed})
    runtime.subscribe(settings.topics.payment_records, {PaymentRecordPublished: on_payment_record})
