"""The outbox relay: publishes what units of work wrote to the outbox, in order, at least once."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

from shared.aio import wait_set
from shared.envelope import new_id, utcnow
from shared.outbox.entries import FAILED, PENDING, PUBLISHED, OutboxEntry, Record
from shared.store import STORE_UNAVAILABLE, database
from shared.store.by_ids import update_by_ids

log = logging.getLogger(__name__)


#: Sends one record of an entry on its way: awaited, it hands the record to the producer, and returns
#: what to await for the broker's confirmation (None when the send is already confirmed).
Publish = Callable[[Record], Awaitable[Awaitable[Any] | None]]


class OutboxRelay:
    """Publishes outbox entries; several instances share the work through leases.

    What this process's transactions write is handed over on commit and published at once (one
    store write per batch, to mark it published). A poll every interval picks up the rest:
    entries of a process that died before publishing, and entries set pending again to re-drive.
    """

    def __init__(
        self,
        *,
        publish: Publish,
        batch_size: int,
        poll_interval_s: float,
        max_attempts: int,
        lease_s: float = 30.0,
        handoff_lease_s: float = 10.0,
    ) -> None:
        self._publish = publish
        self._batch_size = batch_size
        self._poll = poll_interval_s
        self._max_attempts = max_attempts
        self._lease = timedelta(seconds=lease_s)
        self.handoff_lease = timedelta(seconds=handoff_lease_s)
        self._wakeup = asyncio.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._handed: list[OutboxEntry] = []
        self.published_total = 0

    @property
    def running(self) -> bool:
        """Whether this relay's loop runs (and so publishes what is handed to it at once)."""
        return self._loop is not None

    def wake(self) -> None:
        """Ask the relay to look now (safe from worker threads); the store is polled at most every interval."""
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._wakeup.set)

    def accept(self, entries: list[OutboxEntry]) -> None:
        """Take committed entries to publish now (safe from worker threads)."""
        loop = self._loop
        if loop is None:
            return  # not running: the entries' lease runs out and a poll takes them
        with contextlib.suppress(RuntimeError):  # the loop closed while stopping: same as above
            loop.call_soon_threadsafe(self._take, entries)

    def _take(self, entries: list[OutboxEntry]) -> None:
        self._handed.extend(entries)
        self._wakeup.set()

    def _claim(self) -> list[OutboxEntry]:
        coll = database()[OutboxEntry._get_collection_name()]
        now = utcnow()
        due = {"state": PENDING, "lease_until": {"$lte": now}}
        docs = list(coll.find(due).sort("lease_until", 1).limit(self._batch_size))
        if not docs:
            return []
        ids = [d["_id"] for d in docs]
        token = new_id()
        lease = {"lease_until": now + self._lease, "lease_token": token}
        # _id first: the embedded store picks its index from the filter's first fields.
        leased = coll.update_many({"_id": {"$in": ids}, **due}, {"$set": lease})
        if leased.modified_count == len(ids):
            # Every entry read is ours now: no need to read them again.
            docs = [{**d, **lease} for d in docs]
        else:
            # Another relay leased some in between: publish only the ones that carry our token.
            docs = list(coll.find({"_id": {"$in": ids}, "lease_token": token}))
        return sorted((OutboxEntry._from_son(d) for d in docs), key=lambda e: e.created_at)

    def _settle(self, done: list[str], failed: list[tuple[OutboxEntry, str]]) -> None:
        coll = database()[OutboxEntry._get_collection_name()]
        now = utcnow()
        if done:
            # In slices: one `$in` of the whole batch costs the embedded store n x n (see by_ids).
            update_by_ids(coll, done, {"$set": {"state": PUBLISHED, "published_at": now}, "$inc": {"attempts": 1}})
        for entry, error in failed:
            attempts = entry.attempts + 1
            state = FAILED if attempts >= self._max_attempts else PENDING
            backoff = min(60.0, 0.5 * 2 ** min(attempts, 7)) * random.uniform(0.5, 1.0)
            coll.update_one(
                {"_id": entry.id},
                {
                    "$set": {
                        "state": state,
                        "attempts": attempts,
                        "last_error": error[:500],
                        "lease_until": now + timedelta(seconds=backoff),
                    }
                },
            )

    async def _send(self, entries: list[OutboxEntry]) -> int:
        """Publish entries in order and record the outcome; return how many went out."""
        done: list[str] = []
        failed: list[tuple[OutboxEntry, str]] = []

        def fail(entry: OutboxEntry, exc: Exception) -> None:
            log.warning("outbox publish of %s failed: %s", entry.id, exc)
            failed.append((entry, f"{type(exc).__name__}: {exc}"))

        # Every entry is handed to the producer first, in order, and only then are the broker's
        # confirmations awaited: the producer sends what queued meanwhile together, one request
        # per broker (and one at a time, so a partition's order holds), where waiting for each
        # confirmation in turn cost a round-trip and a request per event.
        # An entry written with others (`emit(..., together=True)`) is done once all its records are.
        sent: list[tuple[OutboxEntry, list[Awaitable[Any] | None]]] = []
        for entry in entries:
            try:
                sent.append((entry, [await self._publish(record) for record in entry.records()]))
            except Exception as exc:  # the broker can fail in many ways; each is retried later
                fail(entry, exc)
        for entry, confirmations in sent:
            try:
                for confirmed in confirmations:
                    if confirmed is not None:
                        await confirmed
                done.append(entry.id)
            except Exception as exc:
                fail(entry, exc)
        if entries:
            await asyncio.to_thread(self._settle, done, failed)
        self.published_total += len(done)
        return len(entries)

    async def run_once(self) -> int:
        """Claim one batch from the store, publish it in order, record the outcome; return its size."""
        return await self._send(await asyncio.to_thread(self._claim))

    async def send_handed(self) -> int:
        """Publish what committed transactions handed over since the last call; return how many."""
        entries, self._handed = self._handed, []
        return await self._send(sorted(entries, key=lambda e: e.created_at)) if entries else 0

    async def run(self, *, ready: Callable[[], bool]) -> None:
        """Loop until cancelled: publish handed-over entries at once, poll the store every interval."""
        self._loop = asyncio.get_running_loop()
        last_poll = -self._poll
        try:
            while True:
                # Clear before working so a wake-up that arrives mid-batch is not lost.
                self._wakeup.clear()
                full = False
                try:
                    await self.send_handed()
                    if self._loop.time() - last_poll >= self._poll:
                        last_poll = self._loop.time()
                        if ready():
                            full = await self.run_once() >= self._batch_size
                except STORE_UNAVAILABLE as exc:
                    # Entries handed over stay pending under their lease: a later poll takes them.
                    log.warning("outbox relay waiting for the store: %s", exc)
                if full or self._handed:
                    continue
                await wait_set(self._wakeup, max(0.01, last_poll + self._poll - self._loop.time()))
        finally:
            self._loop = None
