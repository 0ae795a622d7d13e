"""Notify's background loops: the delivery worker, and the sweep of due reminders and parked events."""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import Callable, Coroutine
from datetime import timedelta
from typing import Any

from services.notify.adapters.senders import Senders
from services.notify.config import NotifySettings
from services.notify.domain.notice import Channel
from services.notify.models import Notification
from services.notify.service import delivery, events, outcomes, reminders
from services.notify.service.planning import channel_enabled
from services.notify.service.subscriptions import LiveEndpoints
from shared.aio import wait_set
from shared.app import ServiceRuntime
from shared.store import STORE_UNAVAILABLE, GroupCommit

log = logging.getLogger(__name__)
CHANNELS = ("email", "sms", "webhook")


class DeliveryWorker:
    """One loop per channel; a slow or failing endpoint only ever holds its own share of the slots.

    It claims due intents under a lease, sends them concurrently per channel and records outcomes."""

    def __init__(self, *, settings: NotifySettings, on_delivered: Callable[[], None], outcomes: GroupCommit) -> None:
        self._settings = settings
        #: Settles the outcomes of sends that finish together in one commit.
        self._outcomes = outcomes
        self._on_delivered = on_delivered
        self._wakeups = {channel: asyncio.Event() for channel in CHANNELS}
        self._loop: asyncio.AbstractEventLoop | None = None
        self.sent = Counter[str]()

    def wake(self) -> None:
        """Look for due deliveries now (safe from worker threads)."""
        if self._loop is not None:
            # A channel that is off gets no new intents, so waking it would only cost a claim query;
            # it still looks on its poll interval for ones recorded while it was on.
            for channel, event in self._wakeups.items():
                if channel_enabled(Channel(channel), self._settings):
                    self._loop.call_soon_threadsafe(event.set)

    async def run(self) -> None:
        """Serve every channel until cancelled."""
        self._loop = asyncio.get_running_loop()
        senders = Senders(settings=self._settings)
        limits = {"email": self._settings.concurrency_email, "sms": self._settings.concurrency_sms,
                  "webhook": self._settings.concurrency_webhook}
        try:
            await asyncio.gather(*(self._serve(c, limits[c], senders) for c in CHANNELS))
        finally:
            await senders.close()

    async def _serve(self, channel: str, limit: int, senders: Senders) -> None:
        in_flight: dict[asyncio.Task[None], str] = {}
        gates: dict[str, asyncio.Semaphore] = {}
        lease = timedelta(seconds=self._settings.delivery_lease_s)
        wakeup = self._wakeups[channel]
        try:
            while True:
                wakeup.clear()
                docs: list[Notification] = []
                if len(in_flight) < limit:
                    try:
                        # Up to twice the endpoint's share is claimed: the next ones wait at its gate, so
                        # a finished send is followed at once while the next claim runs.
                        docs = await asyncio.to_thread(
                            delivery.claim, channel=channel, lease=lease, slots=limit - len(in_flight),
                            in_flight=Counter(in_flight.values()),
                            per_endpoint=2 * self._settings.concurrency_per_endpoint)
                    except STORE_UNAVAILABLE as exc:
                        log.warning("delivery worker waiting for the store: %s", exc)
                    except Exception:
                        # Any other answer (a store error nobody expected, a bug) must not end the
                        # channel's loop: its sends in flight go on, and it claims again on its next turn.
                        log.exception("claiming %s deliveries failed; the channel claims again on its next turn",
                                      channel)
                for doc in docs:
                    share = self._settings.concurrency_per_endpoint if channel == "webhook" else limit
                    gate = gates.setdefault(doc.subscription_id or channel, asyncio.Semaphore(share))
                    task = asyncio.create_task(self._deliver(doc, senders, gate))
                    in_flight[task] = doc.subscription_id or channel
                    task.add_done_callback(lambda t: (in_flight.pop(t, None), wakeup.set()))
                if docs:
                    continue
                await wait_set(wakeup, self._settings.delivery_poll_s)
        finally:
            for task in list(in_flight):
                task.cancel()
            await asyncio.gather(*in_flight, return_exceptions=True)

    async def _deliver(self, doc: Notification, senders: Senders, gate: asyncio.Semaphore) -> None:
        try:
            async with gate:
                subscription, outcome = await delivery.send(doc, senders=senders)
            delivered = await asyncio.to_thread(outcomes.record_outcome, self._outcomes, doc=doc,
                                                subscription=subscription, outcome=outcome, settings=self._settings)
            if delivered:
                self.sent[doc.channel] += 1
                self._on_delivered()
        except asyncio.CancelledError:
            raise
        except Exception:  # one broken delivery must not stop the channel; its lease brings it back
            log.exception("delivery %s failed unexpectedly; it will be retried after its lease", doc.id)


def reminder_sweep(runtime: ServiceRuntime, *, settings: NotifySettings, worker: DeliveryWorker,
                   endpoints: LiveEndpoints) -> Callable[[], Coroutine[Any, Any, None]]:
    """The loop that fires due reminders and replays parked events whose complaint is now known."""

    async def sweep() -> None:
        while True:
            try:
                fired = await asyncio.to_thread(reminders.fire_due, runtime.unit(), settings=settings,
                                                endpoints=endpoints)
                fired += await asyncio.to_thread(events.sweep_parked, runtime.unit(), settings=settings,
                                                 endpoints=endpoints)
                if fired:
                    runtime.relay.wake()
                    worker.wake()
            except STORE_UNAVAILABLE as exc:
                log.warning("reminder sweep waiting for the store: %s", exc)
            await asyncio.sleep(settings.reminder_poll_s)

    return sweep
