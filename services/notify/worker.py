"""The delivery worker: claims due intents under a lease, sends them concurrently per channel, records outcomes."""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import Callable
from datetime import datetime, timedelta


from services.notify import outcomes
from services.notify.config import NotifySettings
from services.notify.domain.notice import Channel
from services.notify.models import Notification, Subscription
from services.notify.planning import channel_enabled
from services.notify.senders import Senders
from shared.aio import wait_set
from shared.envelope import new_id, utcnow
from shared.store import STORE_UNAVAILABLE, GroupCommit, database

log = logging.getLogger(__name__)
CHANNELS = ("email", "sms", "webhook")


def claim(*, channel: str, lease: timedelta, slots: int, in_flight: Counter[str], per_endpoint: int,
          now: datetime | None = None) -> list[Notification]:
    """Lease up to `slots` due pending deliveries of a channel; paused, backed-off and full endpoints wait."""
    now = now or utcnow()
    coll = database()[Notification._get_collection_name()]
    # Only the index's fields go to the store: the due deliveries of the channel. A condition on any
    # other field (the lease, the endpoint) makes the embedded store read every delivery ever
    # recorded instead, so those are checked here. It fetches every match before a limit anyway.
    query = {"channel": channel, "state": "pending", "next_attempt_at": {"$lte": now}}
    candidates = list(coll.find(query, {"_id": 1, "subscription_id": 1, "lease_until": 1}).sort("next_attempt_at", 1))
    held: set[str] = set()
    endpoints = {doc["subscription_id"] for doc in candidates if doc.get("subscription_id")}
    if endpoints:
        # Only the endpoints that have something due, by _id: asking for paused or backing-off ones
        # instead makes the embedded store read every subscription at every claim.
        held = {sub["_id"] for sub in database()[Subscription._get_collection_name()].find(
            {"_id": {"$in": sorted(endpoints)}}, {"paused_at": 1, "health.backoff_until": 1})
            if sub.get("paused_at") is not None
            or ((sub.get("health") or {}).get("backoff_until") or now) > now}  # None once it answers again
    taken: list[str] = []
    room = Counter(in_flight)
    for doc in candidates:
        if doc["lease_until"] > now or doc.get("subscription_id") in held:
            continue  # being sent by someone, or its endpoint is paused or backing off
        endpoint = doc.get("subscription_id") or channel
        if channel == "webhook" and room[endpoint] >= per_endpoint:
            continue
        room[endpoint] += 1
        taken.append(doc["_id"])
        if len(taken) >= slots:
            break
    if not taken:
        return []
    token = new_id()
    # One update per delivery, never update_many: a delivery may carry the uncommitted outcome of a
    # process SIGKILLed mid-transaction. The embedded store retries a multi-document update's conflict
    # with it forever while holding the collection lock, and its reaper of dead transactions then
    # deadlocks behind the transactions queued on that lock (every write of every service hangs).
    # A single-document update waits for the reaper (at most 60 s) without holding the lock.
    # The filter leads with _id and names no other indexed field: the embedded store picks its
    # index from the filter's first fields, and (channel, state, ...) would make every claim read
    # the whole pending backlog. Lease and state are what a concurrent claim or settle changes.
    for delivery_id in taken:
        coll.update_one({"_id": delivery_id, "lease_until": {"$lte": now}, "state": "pending"},
                        {"$set": {"lease_until": now + lease, "lease_token": token}})
    return [Notification._from_son(d) for d in coll.find({"_id": {"$in": taken}, "lease_token": token})]


class DeliveryWorker:
    """One loop per channel; a slow or failing endpoint only ever holds its own share of the slots."""

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
                            claim, channel=channel, lease=lease, slots=limit - len(in_flight),
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
                subscription = None
                if doc.subscription_id:
                    subscription = await asyncio.to_thread(
                        lambda: Subscription.objects(id=doc.subscription_id).first())
                outcome = await senders.send(doc=doc, subscription=subscription)
            delivered = await asyncio.to_thread(outcomes.record_outcome, self._outcomes, doc=doc, subscription=subscription,
                                                outcome=outcome, settings=self._settings)
            if delivered:
                self.sent[doc.channel] += 1
                self._on_delivered()
        except asyncio.CancelledError:
            raise
        except Exception:  # one broken delivery must not stop the channel; its lease brings it back
            log.exception("delivery %s failed unexpectedly; it will be retried after its lease", doc.id)
