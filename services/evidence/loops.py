"""Evidence's background loop: the sweep of orphaned content, every few minutes while the store is up."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from datetime import timedelta
from typing import Any

from services.evidence.service.sweeping import sweep_orphans
from shared.store import STORE_UNAVAILABLE

log = logging.getLogger(__name__)


def sweeper(*, interval_s: float, older_than: timedelta,
            ready: Callable[[], bool]) -> Callable[[], Coroutine[Any, Any, None]]:
    """A background loop running the sweep every `interval_s` while the store is up."""

    async def loop() -> None:
        while True:
            await asyncio.sleep(interval_s)
            if not ready():
                continue
            try:
                removed = await asyncio.to_thread(sweep_orphans, older_than=older_than)
            except STORE_UNAVAILABLE as exc:
                log.warning("orphan sweep waiting for the store: %s", exc)
                continue
            if removed:
                log.info("removed %d pieces of orphaned evidence content", removed)

    return loop
