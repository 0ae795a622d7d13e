"""Notify's subscribers: acknowledge every filed complaint to its complainant."""

from __future__ import annotations

import asyncio

from services.notify import service
from shared.app import ServiceRuntime
from shared.contracts.complaints import ComplaintFiled


def register(runtime: ServiceRuntime) -> None:
    """Subscribe notify to intake's events."""
    settings = runtime.settings

    async def on_complaint_filed(event: ComplaintFiled) -> None:
        await asyncio.to_thread(service.acknowledge, event=event,
                                topic=settings.topics.notify_events,
                                consumer=settings.service_name)
        runtime.relay.wake()

    runtime.subscribe(settings.topics.intake_events, {ComplaintFiled: on_complaint_filed})
