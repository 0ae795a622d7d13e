"""Evidence's subscribers: open an evidence file for every filed complaint."""

from __future__ import annotations

import asyncio

from services.evidence import service
from shared.app import ServiceRuntime
from shared.contracts.complaints import ComplaintFiled


def register(runtime: ServiceRuntime) -> None:
    """Subscribe evidence to intake's events."""
    settings = runtime.settings

    async def on_complaint_filed(event: ComplaintFiled) -> None:
        await asyncio.to_thread(service.open_file, event=event,
                                topic=settings.topics.evidence_events,
                                consumer=settings.service_name)
        runtime.relay.wake()

    runtime.subscribe(settings.topics.intake_events, {ComplaintFiled: on_complaint_filed})
