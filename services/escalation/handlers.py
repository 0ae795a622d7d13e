"""Escalation's subscribers: open a case for every filed complaint."""

from __future__ import annotations

import asyncio

from services.escalation import service
from shared.app import ServiceRuntime
from shared.contracts.complaints import ComplaintFiled


def register(runtime: ServiceRuntime) -> None:
    """Subscribe escalation to intake's events."""
    settings = runtime.settings

    async def on_complaint_filed(event: ComplaintFiled) -> None:
        await asyncio.to_thread(service.open_case, event=event,
                                topic=settings.topics.escalation_events,
                                consumer=settings.service_name,
                                first_response_hours=settings.first_response_hours)
        runtime.relay.wake()

    runtime.subscribe(settings.topics.intake_events, {ComplaintFiled: on_complaint_filed})
