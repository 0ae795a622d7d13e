"""Intake's background loop: the reconciler, re-driving complaints some service never acted on."""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Callable, Coroutine
from datetime import timedelta
from typing import Any

from services.intake.config import IntakeSettings
from services.intake.service.reconcile import Activity, redrive_stuck
from shared.app import ServiceRuntime
from shared.envelope import utcnow
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
                    idle=functools.partial(activity.idle, since=since))
            except STORE_UNAVAILABLE as exc:
                log.warning("reconciler waiting for the store: %s", exc)
                continue
            if tickets:
                log.warning("re-driving %d complaints no service finished: %s", len(tickets), tickets[:10])
                runtime.relay.wake()

    return loop
