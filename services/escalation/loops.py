"""The timer loop: fire what is due, then sleep until the next due time or a short poll."""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import datetime
from typing import Any

from services.escalation.config import EscalationSettings
from services.escalation.repository import claims
from services.escalation.service import firing
from services.escalation.service.rules import Rules
from shared.aio import wait_set
from shared.app import ServiceRuntime
from shared.envelope import utcnow
from shared.store import STORE_UNAVAILABLE

log = logging.getLogger(__name__)
# A timer scheduled just as another instance moved the due floor past it is found on the next rewind.
REWIND_EVERY_S = 30.0


class TimerLoop:
    """Runs as a background task of the service; several instances share timers through leases."""

    def __init__(self, *, runtime: ServiceRuntime, rules: Rules) -> None:
        self._runtime, self._rules = runtime, rules
        self._settings: EscalationSettings = runtime.settings  # type: ignore[assignment]
        self._wakeup = asyncio.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self.claimed_total = 0
        self._scan = claims.DueScan()
        self._rewound = 0.0
        meter = runtime.metrics.meter
        self._lag = meter.create_histogram("complaints.timer.lag", unit="s",
                                           description="Delay from a timer's due time to its firing, by kind")
        self._warnings = meter.create_counter("complaints.sla.warnings", unit="{warning}",
                                              description="SLA warnings sent (ahead of a clock's due time), by clock")
        self._breaches = meter.create_counter("complaints.sla.breaches", unit="{breach}",
                                              description="SLA clocks that ran out, by clock")

    def _fired(self, timer: dict[str, Any], at: datetime) -> None:
        """Count a fired timer: its delay past due, and the warning or breach it was."""
        self._lag.record(max(0.0, (at - timer["due_at"]).total_seconds()), {"kind": timer["kind"]})
        counter = self._breaches if timer["kind"] == "breach" else self._warnings
        counter.add(1, {"clock": timer["clock"]})

    def wake(self) -> None:
        """Look for due timers now (safe from worker threads)."""
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._wakeup.set)

    async def run(self) -> None:
        """Loop until cancelled."""
        self._loop = asyncio.get_running_loop()
        s = self._settings
        while True:
            self._wakeup.clear()
            claimed, delay = 0, s.timer_poll_interval_s
            try:
                if time.monotonic() - self._rewound > REWIND_EVERY_S:
                    await asyncio.to_thread(claims.rewind_floor, back_s=2 * REWIND_EVERY_S)
                    self._rewound = time.monotonic()
                claimed = await asyncio.to_thread(
                    firing.fire_due, self._runtime.unit(), owner=s.instance_id, lease_s=s.timer_lease_s,
                    limit=s.timer_batch_size, group=s.timer_group_size, rules=self._rules,
                    topic=s.topics.escalation_events, scan=self._scan, on_fired=self._fired)
                due = await asyncio.to_thread(claims.next_due, within_s=delay)
                if due is not None:
                    delay = min(delay, max((due - utcnow()).total_seconds(), 0.0))
            except STORE_UNAVAILABLE as exc:
                log.warning("timer loop waiting for the store: %s", exc)
            except Exception:  # a bug must not stop the clocks: the leases expire and it is retried
                log.exception("timer loop round failed; claimed timers are retried when their lease ends")
            if claimed:
                self.claimed_total += claimed
                self._runtime.relay.wake()
            if claimed >= s.timer_batch_size:
                continue
            await wait_set(self._wakeup, delay)
