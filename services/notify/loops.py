"""Notify's background loops: the delivery worker, and the sweep of due reminders and parked events."""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from opentelemetry.metrics import Meter, get_meter

from services.notify import repository
from services.notify.adapters.senders import Outcome, Senders
from services.notify.config import NotifySettings
from services.notify.domain.notice import Channel
from services.notify.models import Notification, Subscription
from services.notify.service import delivery, events, outcomes, reminders
from services.notify.service.early import EarlySends
from services.notify.service.handoff import new_token, take_handed
from services.notify.service.planning import channel_enabled
from services.notify.service.subscriptions import LiveEndpoints
from shared.aio import wait_set
from shared.app import ServiceRuntime
from shared.envelope import utcnow
from shared.metrics import Samples
from shared.store import STORE_UNAVAILABLE, GroupCommit, UnitOfWork

log = logging.getLogger(__name__)
CHANNELS = ("email", "sms", "webhook")
SETTLE_BATCH_MAX = 256  # outcomes settled in one transaction at most
CLAIM_RACES = 3  # claims made again at once, in a row, after each lost deliveries to another worker
LEASE_MARGIN_S = 2.0  # a send starts only with its timeout and this much of its lease left


@dataclass
class _Settling:
    """A finished send waiting for the next settling batch, and the future its task awaits."""

    sent: outcomes.Sent
    done: asyncio.Future[bool | None]


class DeliveryWorker:
    """One loop per channel; a slow or failing endpoint only ever holds its own share of the slots.

    It claims due intents under a lease in batches (one read, one bulk write), sends them
    concurrently per channel and records their outcomes in batches (one transaction for the
    outcomes that finish while the previous batch commits)."""

    def __init__(self, *, settings: NotifySettings, on_delivered: Callable[[], None], outcomes: GroupCommit,
                 meter: Meter | None = None) -> None:
        self._settings = settings
        meter = meter or get_meter(__name__)
        self._attempts = meter.create_counter("complaints.delivery.attempts", unit="{attempt}",
                                              description="Delivery attempts by channel and outcome (ok, failed)")
        self._webhook_failures = meter.create_counter(
            "complaints.webhook.failures", unit="{attempt}",
            description="Webhook attempts that failed (refused, error status, timeout), by endpoint (subscription id)")
        #: Settles the outcomes of sends that finish together in one commit.
        self._outcomes = outcomes
        self._on_delivered = on_delivered
        self._wakeups = {channel: asyncio.Event() for channel in CHANNELS}
        self._settling: asyncio.Queue[_Settling] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._handed: list[Notification] = []  # webhook deliveries handed over, leased to this worker
        #: Those handed before the transaction recording them commits (service/early.py).
        self.early = EarlySends(settings=settings, hand_over=self._hand_over, settle=self._settle_one)
        self._asked: set[str] = set()  # channels woken to claim (not by a hand-over or a finished send)
        #: The lease token of the deliveries handed to this worker (service/handoff.py): its claims take
        #: those back first (service/delivery.claim).
        self.handoff_token = new_token()

    def wake(self) -> None:
        """Look for due deliveries now (safe from worker threads)."""
        self._wake(CHANNELS)

    def wake_unhanded(self) -> None:
        """Look for due deliveries of the channels whose new deliveries are not handed over (email,
        SMS): webhook ones come with their hand-over (`accept`), and a claim reads the channel's
        whole due set, so asking one per consumed batch cost a read of every pending webhook delivery."""
        self._wake(tuple(c for c in CHANNELS if c != "webhook"))

    def _wake(self, channels: tuple[str, ...]) -> None:
        if self._loop is not None:
            # A channel that is off gets no new intents, so waking it would only cost a claim query;
            # it still looks on its poll interval for ones recorded while it was on.
            for channel in channels:
                event = self._wakeups[channel]
                if channel_enabled(Channel(channel), self._settings):
                    self._asked.add(channel)
                    self._loop.call_soon_threadsafe(event.set)

    def accept(self, docs: list[Notification]) -> None:
        """Take webhook deliveries leased to this worker as they were recorded (safe from worker
        threads; see service/handoff.py). Not running, their leases bring them to a claim."""
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._hand_over, docs)

    def _hand_over(self, docs: list[Notification]) -> None:
        self._handed.extend(docs)
        self._wakeups["webhook"].set()

    def accept_early(self, tx: UnitOfWork, rows: list[dict[str, Any]]) -> bool:
        """Take webhook deliveries leased to this worker that `tx` records, before it commits: sent
        at once, those delivered by its commit stored delivered by it (service/early.py). From
        worker threads; False when not taken (not running): the caller gives them on commit."""
        return self.early.accept(tx, rows)

    async def run(self) -> None:
        """Serve every channel until cancelled."""
        self._loop = asyncio.get_running_loop()
        self.early.start(self._loop)
        self._settling = asyncio.Queue()
        senders = Senders(settings=self._settings)
        limits = {"email": self._settings.concurrency_email, "sms": self._settings.concurrency_sms,
                  "webhook": self._settings.concurrency_webhook}
        try:
            await asyncio.gather(self._settle(), *(self._serve(c, limits[c], senders) for c in CHANNELS))
        finally:
            self.early.start(None)  # what is recorded from now on is given on commit
            await senders.close()

    async def _serve(self, channel: str, limit: int, senders: Senders) -> None:
        held: dict[asyncio.Task[None], str] = {}  # claimed and not settled yet, by endpoint
        share = self._settings.concurrency_per_endpoint if channel == "webhook" else limit
        gates: dict[str, asyncio.Semaphore] = {}  # an endpoint's POSTs in flight
        posts = asyncio.Semaphore(limit)  # the channel's sends in flight
        pace = _Pace(share=share, lease_s=self._settings.delivery_lease_s)
        # A claim reads the channel's whole due set (docs/architecture.md, Store notes), so claims are
        # made for many deliveries at once: up to eight times the channel's slots held, and per
        # endpoint as many as it answers within half a lease (`_Pace`). A finished send asks for the
        # next claim only once its endpoint or the channel has half its room free again.
        most = 8 * limit
        lease = timedelta(seconds=self._settings.delivery_lease_s)
        wakeup = self._wakeups[channel]
        # Webhooks come handed over (service/handoff.py): a claim is made when asked, while the last
        # one was full, or once per poll interval (retries, resumed endpoints, a crashed instance's).
        last_claim, more = -self._settings.delivery_poll_s, True
        races = 0  # claims in a row that lost deliveries to another worker (another notify process)
        clock = asyncio.get_running_loop().time

        def finished(task: asyncio.Task[None]) -> None:
            endpoint = held.pop(task, channel)
            left = sum(1 for e in held.values() if e == endpoint)
            if len(held) <= most // 2 or left <= pace.cap(endpoint) // 2:
                wakeup.set()

        try:
            while True:
                wakeup.clear()
                docs: list[Notification] = []
                raced = False  # this turn's claim lost some to another worker, and may go again at once
                room = most - len(held)
                if room > 0:
                    try:
                        if channel == "webhook" and self._handed:
                            # Handed over as recorded: no claim needed for those (service/handoff.py).
                            # What is not taken goes back before what was handed meanwhile.
                            waiting = [doc for doc in self._handed if not self.early.dropped(doc)]
                            self._handed, before = [], list(waiting)
                            try:
                                docs = await asyncio.to_thread(
                                    take_handed, waiting, now=utcnow(), room=room, in_flight=Counter(held.values()),
                                    margin=timedelta(seconds=self._send_timeout(channel) + LEASE_MARGIN_S),
                                    caps=pace.caps(), per_endpoint=2 * share,
                                    unstored=frozenset(doc.id for doc in before if self.early.unstored(doc)))
                            finally:
                                self._handed[:0] = waiting
                                # Neither taken nor kept: released (endpoint held: take_handed freed those
                                # already stored) or dropped (lease nearly out: a claim takes them after it).
                                left = {id(doc) for doc in docs} | {id(doc) for doc in waiting}
                                self.early.released((doc for doc in before if id(doc) not in left), stored_free=False)
                        if not docs and (channel != "webhook" or more or channel in self._asked
                                         or clock() - last_claim >= self._settings.delivery_poll_s):
                            self._asked.discard(channel)
                            last_claim = clock()
                            docs = await asyncio.to_thread(
                                delivery.claim, channel=channel, lease=lease, slots=room,
                                in_flight=Counter(held.values()), per_endpoint=2 * share, endpoint_caps=pace.caps(),
                                own=self.handoff_token)
                            # Another worker leased some of those this claim chose (both read the due
                            # set, the earliest first): the next ones are free, so it claims again at
                            # once rather than waiting for its poll (a few times in a row at most).
                            races = races + 1 if getattr(docs, "contended", False) else 0
                            raced = 0 < races <= CLAIM_RACES
                            # An endpoint's cap left due ones behind: claim again as soon as a finished
                            # send wakes the loop (its endpoint half free), not only on the next poll.
                            more = len(docs) >= room or raced or getattr(docs, "capped", False)
                    except STORE_UNAVAILABLE as exc:
                        log.warning("delivery worker waiting for the store: %s", exc)
                    except Exception:
                        # Any other answer (a store error nobody expected, a bug) must not end the
                        # channel's loop: its sends in flight go on, and it claims again on its next turn.
                        log.exception("claiming %s deliveries failed; the channel claims again on its next turn",
                                      channel)
                endpoints = getattr(docs, "endpoints", {})
                for doc in docs:
                    endpoint = doc.subscription_id or channel
                    gate = gates.setdefault(endpoint, asyncio.Semaphore(share))
                    task = asyncio.create_task(self._deliver(doc, endpoints.get(doc.subscription_id or ""),
                                                             senders, gate, posts, pace))
                    held[task] = endpoint
                    task.add_done_callback(finished)
                if (docs and len(docs) >= room) or raced:
                    continue  # the claim was full, or lost some to another worker: there may be more due
                await wait_set(wakeup, self._settings.delivery_poll_s)
        finally:
            for task in list(held):
                task.cancel()
            await asyncio.gather(*held, return_exceptions=True)

    async def _deliver(self, doc: Notification, subscription: Subscription | None, senders: Senders,
                       gate: asyncio.Semaphore, posts: asyncio.Semaphore, pace: _Pace) -> None:
        try:
            async with gate, posts:
                # Waiting at its endpoint's gate must not outlast the lease: a delivery whose lease
                # could run out during its send is left for the next claim, never sent twice at once.
                # (It asks for the send's timeout left, or half the lease where a lease is shorter.)
                left = (doc.lease_until - utcnow()).total_seconds()
                if left < min(self._send_timeout(doc.channel) + LEASE_MARGIN_S, self._settings.delivery_lease_s / 2):
                    log.info("delivery %s waited too long for its endpoint; it is claimed again after its lease",
                             doc.id)
                    self.early.released([doc])
                    return
                if self.early.dropped(doc):
                    return  # handed early, its transaction undone: applied again, its event hands it again
                outcome = await self.early.send(doc, subscription, lambda: delivery.send(
                    doc, senders=senders, subscription=subscription))
            self._count(doc, outcome)
            pace.heard(doc.subscription_id or doc.channel, outcome.latency_ms / 1000)
            sent = outcomes.Sent(doc=doc, subscription=subscription, outcome=outcome)
            early = await self.early.after_send(sent)
            if early == "undone":
                return  # nothing of its transaction stored: applied again, its event hands it again
            if early != "folded":  # written delivered by its own commit, or settled now
                await self._settle_one(sent)
        except asyncio.CancelledError:
            raise
        except Exception:  # one broken delivery must not stop the channel; its lease brings it back
            log.exception("delivery %s failed unexpectedly; it will be retried after its lease", doc.id)

    def _count(self, doc: Notification, outcome: Outcome) -> None:
        self._attempts.add(1, {"channel": doc.channel, "outcome": "ok" if outcome.ok else "failed"})
        if doc.channel == "webhook" and not outcome.ok:
            self._webhook_failures.add(1, {"endpoint": doc.subscription_id or ""})

    def _send_timeout(self, channel: str) -> float:
        s = self._settings
        return {"email": s.smtp_timeout_s + 1, "sms": s.sms_timeout_s + 1}.get(channel, s.webhook_timeout_s)

    async def _settle_one(self, sent: outcomes.Sent) -> None:
        """Settle one finished send with the next batch; returns once it is settled."""
        assert self._settling is not None
        done: asyncio.Future[bool | None] = asyncio.get_running_loop().create_future()
        self._settling.put_nowait(_Settling(sent, done))
        await done

    async def _settle(self) -> None:
        """Record finished sends: all those waiting, in one transaction, while the next ones finish."""
        assert self._settling is not None
        while True:
            batch = [await self._settling.get()]
            while len(batch) < SETTLE_BATCH_MAX and not self._settling.empty():
                batch.append(self._settling.get_nowait())
            try:
                results: list[bool | None] = list(await asyncio.to_thread(
                    outcomes.record_outcomes, self._outcomes, sent=[b.sent for b in batch],
                    settings=self._settings))
            except STORE_UNAVAILABLE as exc:
                log.warning("settling %d deliveries waits for the store; their leases bring them back: %s",
                            len(batch), exc)
                results = [None] * len(batch)
            except Exception:  # a race or a bug in the batch: each alone, as it would be
                log.warning("settling %d deliveries together failed; each is settled alone", len(batch),
                            exc_info=True)
                results = [await self._settle_alone(b.sent) for b in batch]
            for item, result in zip(batch, results, strict=True):
                if not item.done.done():
                    item.done.set_result(result)
            if any(results):
                self._on_delivered()

    async def _settle_alone(self, sent: outcomes.Sent) -> bool | None:
        try:
            return await asyncio.to_thread(outcomes.record_outcome, self._outcomes, doc=sent.doc,
                                           subscription=sent.subscription, outcome=sent.outcome,
                                           settings=self._settings)
        except Exception:  # its lease brings it back
            log.exception("settling delivery %s failed; it will be retried after its lease", sent.doc.id)
            return None


#: Rounds of sends a worker holds claimed per endpoint at most: 64, or more for a small cap, so that
#: it may hold HELD_PER_ENDPOINT deliveries (64 rounds of the default cap, 4). Two processes at a
#: cap of 2 each then hold what one did: a claim reads the channel's whole due set, and claims of
#: half the size made a held backlog's drain twice the claims.
ROUNDS_MAX, HELD_PER_ENDPOINT = 64, 256


class _Pace:
    """How many deliveries of each endpoint a claim may hold: its share of slots times the rounds of
    sends it answers within half a lease (two rounds until it has answered, at most ROUNDS_MAX or
    as many as make HELD_PER_ENDPOINT)."""

    def __init__(self, *, share: int, lease_s: float) -> None:
        self._share = share
        self._half_lease = lease_s / 2
        self._latency: dict[str, float] = {}

    def heard(self, endpoint: str, seconds: float) -> None:
        before = self._latency.get(endpoint)
        self._latency[endpoint] = seconds if before is None else 0.8 * before + 0.2 * seconds

    def cap(self, endpoint: str) -> int:
        latency = self._latency.get(endpoint)
        most = max(ROUNDS_MAX, HELD_PER_ENDPOINT // self._share)
        rounds = 2 if latency is None else max(2, min(most, int(self._half_lease / max(latency, 0.001))))
        return self._share * rounds

    def caps(self) -> dict[str, int]:
        return {endpoint: self.cap(endpoint) for endpoint in self._latency}


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


def webhook_queue() -> Callable[[], dict[str, Samples]]:
    """A metrics sampler of the webhook queue: pending deliveries and the oldest one's age, by
    endpoint (an endpoint seen before and now drained reports 0, not nothing)."""
    seen: set[str] = set()

    def sample() -> dict[str, Samples]:
        backlog, now = repository.webhook_backlog(), utcnow()
        seen.update(backlog)
        return {"complaints.webhook.queue_depth": [(float(backlog.get(e, (0,))[0]), {"endpoint": e})
                                                   for e in sorted(seen)],
                "complaints.webhook.oldest_pending_age": [
                    (max(0.0, (now - backlog[e][1]).total_seconds()) if e in backlog else 0.0, {"endpoint": e})
                    for e in sorted(seen)]}

    return sample


#: The gauges `webhook_queue` samples: {name: (unit, description)}.
WEBHOOK_QUEUE_GAUGES = {
    "complaints.webhook.queue_depth": ("{delivery}",
                                       "Webhook deliveries pending (due or waiting to retry), by endpoint"),
    "complaints.webhook.oldest_pending_age": ("s", "Age of the oldest pending webhook delivery, by endpoint"),
}
