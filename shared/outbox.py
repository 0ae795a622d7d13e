"""The transactional outbox: events written with the state change, published by a relay."""

from __future__ import annotations

import asyncio
import contextvars
import logging
import random
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any

from mongoengine import DateTimeField, DictField, Document, IntField, StringField
from opentelemetry import propagate
from opentelemetry.context import Context

from shared.aio import wait_set
from shared.envelope import Message, new_id, utcnow
from shared.store import STORE_UNAVAILABLE, Tx, database

log = logging.getLogger(__name__)

PENDING, PUBLISHED, FAILED = "pending", "published", "failed"

#: The id of the event being handled: entries written meanwhile are its effects.
CAUSE: contextvars.ContextVar[str | None] = contextvars.ContextVar("outbox_cause", default=None)


class OutboxEntry(Document):
    """One outgoing message, pending until the relay has handed it to the broker."""

    meta = {
        "collection": "outbox",
        # Every index is rewritten with each entry twice (written, then marked published): only
        # what a query uses (the relay's poll, republish_effects, redrive).
        "indexes": [("state", "lease_until"), {"fields": ["caused_by"], "sparse": True}, ("key", "message_type")],
    }

    id = StringField(primary_key=True)
    topic = StringField(required=True)
    key = StringField(required=True)
    message_type = StringField(required=True)
    payload = StringField(required=True)
    headers = DictField()
    # Kafka headers of this entry; set for raw entries (e.g. CloudEvents), empty for messages.
    kafka_headers = DictField()
    state = StringField(required=True, choices=(PENDING, PUBLISHED, FAILED))
    attempts = IntField(default=0)
    last_error = StringField()
    created_at = DateTimeField(required=True)
    lease_until = DateTimeField(required=True)
    lease_token = StringField()
    caused_by = StringField()
    published_at = DateTimeField()


def _entry(**fields: object) -> OutboxEntry:
    """A pending entry carrying the current trace context and the event that caused it."""
    headers: dict[str, str] = {}
    propagate.inject(headers)
    now = utcnow()
    return OutboxEntry(headers=headers, state=PENDING, created_at=now, lease_until=now,
                       caused_by=CAUSE.get(), **fields)


def outbox_entry(*, topic: str, message: Message) -> OutboxEntry:
    """An outbox entry for a message, carrying the current trace context in its headers."""
    return _entry(id=message.event_id, topic=topic, key=message.key(), message_type=message.type,
                  payload=message.model_dump_json())


#: The relay running in this process, if any: it is handed what a transaction wrote once it commits.
_running: OutboxRelay | None = None


def _write(tx: Tx, entries: list[OutboxEntry]) -> None:
    """Insert entries in the transaction; once it commits, hand them straight to this process's relay.

    Handed-over entries are leased to that relay from the start, so no relay's poll takes them
    while it publishes; if this process dies first, the lease runs out and any relay's poll does.
    """
    relay = _running
    if relay is not None:
        for entry in entries:
            entry.lease_until = entry.created_at + relay.handoff_lease
        tx.after_commit.append(lambda: relay.accept(entries))
    tx.defer(entries)


def emit(tx: Tx, *, topic: str, messages: list[Message]) -> None:
    """Write messages to the outbox inside the caller's transaction."""
    entries = [outbox_entry(topic=topic, message=m) for m in messages]
    # The store keeps milliseconds and the relay publishes by created_at: keep the given order.
    for i, entry in enumerate(entries):
        entry.created_at = entry.created_at + timedelta(milliseconds=i)
    _write(tx, entries)


def emit_raw(tx: Tx, *, topic: str, entry_id: str, key: str, payload: str, message_type: str,
             kafka_headers: dict[str, str]) -> None:
    """Write an already-encoded payload with its own Kafka headers to the outbox in the caller's transaction."""
    _write(tx, [_entry(id=entry_id, topic=topic, key=key, message_type=message_type, payload=payload,
                       kafka_headers=kafka_headers)])


def republish_effects(*, cause: str, older_than: timedelta) -> int:
    """Publish again what handling `cause` emitted, if that went out more than `older_than` ago.

    A cause delivered again long after it was handled means its effects may have been lost with
    the broker's memory; consumers downstream are idempotent, so sending them again is safe.
    """
    now = utcnow()
    return _set_pending({"caused_by": cause}, lambda entry: entry.get("published_at") is not None
                        and entry["published_at"] < now - older_than, now=now)


def _set_pending(found_by: dict[str, Any], wanted: Callable[[dict[str, Any]], bool], *, now: datetime) -> int:
    """Set the published entries the index finds (and `wanted` keeps) pending again; how many.

    The store is asked by the index's fields alone: a condition on any other field makes the
    embedded store read the whole outbox instead. Each entry then changes by _id, still published.
    """
    coll = database()[OutboxEntry._get_collection_name()]
    found = coll.find(found_by, {"state": 1, "published_at": 1})
    ids = [entry["_id"] for entry in found if entry.get("state") == PUBLISHED and wanted(entry)]
    return sum(coll.update_one({"_id": entry_id, "state": PUBLISHED},
                               {"$set": {"state": PENDING, "lease_until": now}}).modified_count
               for entry_id in ids)


def redrive(*, key: str, message_type: str) -> int:
    """Publish again the published entries of one key and type (an owner's reconciler re-driving work)."""
    return _set_pending({"key": key, "message_type": message_type}, lambda entry: True, now=utcnow())


def prune_published(*, older_than: timedelta, limit: int = 1000) -> int:
    """Remove up to `limit` entries that last went out more than `older_than` ago; how many.

    A published entry is kept only for re-driving (`redrive`, `republish_effects`); past the
    retention nothing sends it again, and without pruning the outbox grows by every event ever
    emitted. An entry's lease ends shortly after it last went out, and (state, lease_until) is an
    index, so the store finds them without reading the rest.
    """
    coll = database()[OutboxEntry._get_collection_name()]
    cutoff = utcnow() - older_than
    ids = [d["_id"] for d in coll.find({"state": PUBLISHED, "lease_until": {"$lt": cutoff}}, {"_id": 1}).limit(limit)]
    if not ids:
        return 0
    # _id first: the embedded store picks its index from the filter's first fields.
    return coll.delete_many({"_id": {"$in": ids}, "state": PUBLISHED}).deleted_count


#: Sends one entry on its way: awaited, it hands the entry to the producer, and returns what to
#: await for the broker's confirmation (None when the send is already confirmed).
Publish = Callable[[OutboxEntry], Awaitable[Awaitable[Any] | None]]


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
        """Whether this relay runs and takes what this process's transactions commit."""
        return _running is self

    def wake(self) -> None:
        """Ask the relay to look now (safe from worker threads); the store is polled at most every interval."""
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._wakeup.set)

    def accept(self, entries: list[OutboxEntry]) -> None:
        """Take committed entries to publish now (safe from worker threads)."""
        loop = self._loop
        if loop is None:
            return  # not running: the entries' lease runs out and a poll takes them
        try:
            loop.call_soon_threadsafe(self._take, entries)
        except RuntimeError:
            pass  # the loop closed while stopping: same as above

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
            coll.update_many(
                {"_id": {"$in": done}},
                {"$set": {"state": PUBLISHED, "published_at": now}, "$inc": {"attempts": 1}},
            )
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
        sent: list[tuple[OutboxEntry, Awaitable[Any] | None]] = []
        for entry in entries:
            try:
                sent.append((entry, await self._publish(entry)))
            except Exception as exc:  # the broker can fail in many ways; each is retried later
                fail(entry, exc)
        for entry, confirmed in sent:
            try:
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
        global _running
        self._loop = asyncio.get_running_loop()
        _running = self
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
            if _running is self:
                _running = None
            self._loop = None


def trace_parent(entry: OutboxEntry) -> Context:
    """The trace context the entry was written in."""
    return propagate.extract(entry.headers or {})


def pending_count() -> int:
    """How many entries wait to be published."""
    return database()[OutboxEntry._get_collection_name()].count_documents({"state": PENDING})
