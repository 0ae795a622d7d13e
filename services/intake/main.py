"""Intake's wiring point: create_app() builds the service; run() serves it."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from datetime import timedelta
from typing import Any

from fastapi import FastAPI

from services.intake import api, handlers
from services.intake.config import IntakeSettings
from services.intake.models import (
    CommandReply, Complaint, ComplaintStep, ComplaintWait, MerchantTally, OpenComplaint, TicketSequence,
)
from services.intake.service import slots
from services.intake.service.filing import FilingDesk, TicketNumbers
from services.intake.service.reconcile import Activity, adopt_listed_waits, redrive_stuck
from shared.app import ServiceRuntime, create_service_app
from shared.contracts.complaints import (
    AccountFreezeRequested,
    ComplaintAccepted,
    ComplaintFiled,
    ComplaintRejected,
    ComplaintUpdated,
    ComplaintWithdrawn,
)
from shared.envelope import utcnow
from shared.idempotency import IdempotentResponse
from shared.bus import document_publisher
from shared.runtime.serve import serve
from shared.store import STORE_UNAVAILABLE

log = logging.getLogger(__name__)


def reconciler(runtime: ServiceRuntime, settings: IntakeSettings, activity: Activity,
               steps_from: dict[str, str]) -> Callable[[], Coroutine[Any, Any, None]]:
    """The background loop that re-drives complaints some service never acted on."""
    consumers = {c.stats()["topic"]: c for c in runtime.consumers}

    async def loop() -> None:
        after = timedelta(seconds=settings.reconcile_after_s)
        horizon = timedelta(hours=settings.reconcile_horizon_h)
        while True:
            for actor, topic in steps_from.items():
                activity.watch(actor, set(consumers[topic].stats()["partitions"]))
            await asyncio.sleep(settings.reconcile_interval_s)
            since = utcnow() - after
            try:
                tickets = await asyncio.to_thread(
                    redrive_stuck, after=after, horizon=horizon, partitions=settings.topics.partitions,
                    idle=lambda actor, partition: activity.idle(actor, partition, since=since))
            except STORE_UNAVAILABLE as exc:
                log.warning("reconciler waiting for the store: %s", exc)
                continue
            if tickets:
                log.warning("re-driving %d complaints no service finished: %s", len(tickets), tickets[:10])
                runtime.relay.wake()

    return loop


def create_app(settings: IntakeSettings | None = None) -> FastAPI:
    """Build the intake service: runtime, subscribers, documented publishers, routes."""
    settings = settings or IntakeSettings()
    runtime = ServiceRuntime(settings=settings, documents=[
        Complaint, ComplaintStep, ComplaintWait, TicketSequence, OpenComplaint, MerchantTally, IdempotentResponse, CommandReply])
    activity = Activity()
    desk = FilingDesk(commits=runtime.group_commit("filing"), tallies=slots.tallies(), tickets=TicketNumbers())
    steps_from = handlers.register(runtime, activity, desk)
    runtime.background.append(reconciler(runtime, settings, activity, steps_from))
    runtime.prepare_store.append(slots.name_tally_merchants)
    runtime.prepare_store.append(adopt_listed_waits)
    document_publisher(runtime.broker, topic=settings.topics.intake_events,
                       messages=[ComplaintFiled, ComplaintUpdated, ComplaintWithdrawn, AccountFreezeRequested],
                       description="Complaint facts from intake, keyed by complaint id")
    document_publisher(runtime.broker, topic=settings.topics.intake_replies,
                       messages=[ComplaintAccepted, ComplaintRejected],
                       description="Answers to FileComplaint commands, keyed by the platform's reference")
    app = create_service_app(
        runtime=runtime, title="Complaint intake",
        description="Files complaints (受理) by HTTP and Kafka, numbers, classifies and deduplicates them, "
                    "and shows their status and timeline to callers in scope (bearer tokens).",
        routers=[api.router],
    )
    api.errors.install(app)
    app.state.desk = desk
    return app


def run() -> None:
    """Serve intake with its settings from the environment."""
    serve(create_app, IntakeSettings())


if __name__ == "__main__":
    run()
