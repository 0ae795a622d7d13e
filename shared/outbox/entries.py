"""Outbox entries: events written in the unit of work of the state change they record."""

from __future__ import annotations

import contextvars
import json
import zlib
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any, NamedTuple

from bson import Binary
from mongoengine import DateTimeField, DictField, Document, DynamicField, IntField, StringField
from mongoengine.base import BaseField
from opentelemetry import propagate

from shared.envelope import Message, utcnow
from shared.store import UnitOfWork, database

PENDING, PUBLISHED, FAILED = "pending", "published", "failed"

#: The id of the event being handled: entries written meanwhile are its effects.
CAUSE: contextvars.ContextVar[str | None] = contextvars.ContextVar("outbox_cause", default=None)


class PackedRecords(BaseField):
    """Records written together as one zlib-compressed JSON value (an outbox entry's after its first,
    notify's packed partner events and log pages): a poll's entry was 50-100 KB as a list, decoded,
    logged and written whole twice by the store; packed it is a sixth, for about 3 µs a record.
    Values stored as a list are read as they are."""

    def to_mongo(self, value: Any) -> Binary | None:
        if not value:
            return None
        return Binary(zlib.compress(json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode(), 1))

    @staticmethod
    def to_python(value: Any) -> list[dict[str, Any]]:
        if isinstance(value, bytes):  # bson.Binary is bytes
            return list(json.loads(zlib.decompress(value)))
        return value if isinstance(value, list) else list(value or ())


def stored_records(entry: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """Every record of an entry as the store holds it (a raw document): itself, then the ones packed with it."""
    return [entry, *PackedRecords.to_python(entry.get("more"))]


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
    #: The event whose handling wrote it; the events, a list, when an atomic group joined its entries (`_write`).
    caused_by = DynamicField()
    published_at = DateTimeField()
    #: More messages of the same topic written together (`emit(..., together=True)`, an atomic group's),
    #: published right after this one, in order: {id, key, message_type, payload} each, and
    #: `headers` (its own trace context) where it was written in another trace than the first.
    more: Any = PackedRecords(default=list)  # a list of records (the other fields are untyped: mongoengine is Any)

    def records(self) -> list[Record]:
        """What the entry publishes: itself, then each message written together with it (with its
        topic and Kafka headers, and its own trace where it has one)."""
        headers, kafka_headers = dict(self.headers or {}), dict(self.kafka_headers or {})
        return [Record(self.id, self.topic, self.key, self.message_type, self.payload, headers, kafka_headers),
                *(Record(m["id"], self.topic, m["key"], m["message_type"], m["payload"], m.get("headers", headers),
                         kafka_headers) for m in self.more or ())]


class Record(NamedTuple):
    """One message an outbox entry publishes (a plain value: a document object costs ten times more)."""

    id: str
    topic: str
    key: str
    message_type: str
    payload: str
    #: The trace context it was written in.
    headers: dict[str, str]
    #: Its own Kafka headers (a raw entry's, e.g. a CloudEvent's content-type); empty for messages.
    kafka_headers: dict[str, str]


def _entry(**fields: Any) -> OutboxEntry:
    """A pending entry carrying the current trace context and the event that caused it."""
    now = utcnow()
    return OutboxEntry(headers=_trace_headers(), state=PENDING, created_at=now, lease_until=now,
                       caused_by=CAUSE.get(), **fields)


def _trace_headers() -> dict[str, str]:
    headers: dict[str, str] = {}
    propagate.inject(headers)
    return headers


def _together(*, topic: str, kafka_headers: dict[str, str], records: list[dict[str, str]]) -> OutboxEntry:
    """One entry publishing these records in order: the first its own, the others in `more`."""
    entry = _entry(topic=topic, kafka_headers=kafka_headers, **records[0])
    entry.more = records[1:]
    return entry


def _record(message: Message) -> dict[str, str]:
    return {"id": message.event_id, "key": message.key(), "message_type": message.type,
            "payload": message.model_dump_json()}


def _write(uow: UnitOfWork, entries: list[OutboxEntry]) -> None:
    """Add entries to the unit of work; once it commits, hand them straight to its sink (the relay
    of this process, which the service's runtime gives every unit it builds).

    Handed-over entries are leased to that relay from the start, so no relay's poll takes them
    while it publishes; if this process dies first, the lease runs out and any relay's poll does.
    """
    sink = uow.sink
    if sink is not None and sink.running:
        for entry in entries:
            entry.lease_until = entry.created_at + sink.handoff_lease
        uow.after_commit.append(lambda: sink.accept(entries))
    uow.add(entries)


class _Lead(NamedTuple):
    """An atomic group's entry of one topic, which the group's other records of that topic join."""

    entry: OutboxEntry
    headers: dict[str, str]
    causes: list[str]


def _joined(uow: UnitOfWork, *, topic: str, kafka_headers: dict[str, str], records: list[dict[str, str]],
            findable: bool) -> bool:
    """In an atomic group (a poll's messages, a group commit's jobs, a group of timer fires), add
    the records to the group's entry of their topic (and Kafka headers), the first written making
    it: True. False outside one, or `findable`: the caller writes an entry of its own.

    One insert and one mark published for the group's records of a topic, where each entry costs
    both. All commit or none, so nothing joined is lost; each record keeps its id, key and trace
    context, and the entry names every cause (`republish_effects` finds it by any of them)."""
    if findable or not (uow.grouped and uow.atomic):
        return False
    slot = ("outbox lead", topic, tuple(sorted(kafka_headers.items())))
    lead: _Lead | None = uow.queued.get(slot)
    if lead is None:
        entry = _together(topic=topic, kafka_headers=kafka_headers, records=records)
        uow.queued[slot] = _Lead(entry, dict(entry.headers), [entry.caused_by] if entry.caused_by else [])
        _write(uow, [entry])
        return True
    headers = _trace_headers()
    mine = {} if headers == lead.headers else {"headers": headers}
    for record in records:
        lead.entry.more.append({**record, **mine})
    cause = CAUSE.get()
    if cause and cause not in lead.causes[-1:]:  # a group's messages are handled one after another
        lead.causes.append(cause)
        # One cause: its id; more: the list, growing in place (no copy per message of a poll).
        lead.entry.caused_by = cause if len(lead.causes) == 1 else lead.causes
    return True


def emit(uow: UnitOfWork, *, topic: str, messages: Sequence[Message], together: bool = False,
         findable: bool = False) -> None:
    """Write messages to the outbox in the caller's unit of work.

    `together`: as one entry, published in order (one insert and one mark published in the store
    for all of them, where each costs both), as an atomic group joins its records of a topic. Such
    an entry is found by `redrive` through its first message's key and type only; `findable`: each
    message an entry of its own, for messages an owner re-drives by key."""
    records = [_record(m) for m in messages]
    if not records or _joined(uow, topic=topic, kafka_headers={}, records=records, findable=findable):
        return
    if together and len(records) > 1 and not findable:
        _write(uow, [_together(topic=topic, kafka_headers={}, records=records)])
        return
    entries = [_entry(topic=topic, **r) for r in records]
    # The store keeps milliseconds and the relay publishes by created_at: keep the given order.
    for i, entry in enumerate(entries):
        entry.created_at = entry.created_at + timedelta(milliseconds=i)
    _write(uow, entries)


def emit_raw(uow: UnitOfWork, *, topic: str, entry_id: str, key: str, payload: str, message_type: str,
             kafka_headers: dict[str, str]) -> None:
    """Write an already-encoded payload with its own Kafka headers to the outbox in the caller's unit of work."""
    record = {"id": entry_id, "key": key, "message_type": message_type, "payload": payload}
    if not _joined(uow, topic=topic, kafka_headers=kafka_headers, records=[record], findable=False):
        _write(uow, [_entry(topic=topic, kafka_headers=kafka_headers, **record)])


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


def pending_count() -> int:
    """How many entries wait to be published."""
    return database()[OutboxEntry._get_collection_name()].count_documents({"state": PENDING})


def unpublished(*, states: tuple[str, ...] = (PENDING, FAILED)) -> list[dict[str, Any]]:
    """The entries in `states` (not yet out), oldest first, without their payloads (an operator's listing)."""
    coll = database()[OutboxEntry._get_collection_name()]
    # One query per state: the (state, lease_until) index serves each; an $in would read the whole outbox.
    found = [doc for state in states
             for doc in coll.find({"state": state}, {"payload": 0, "headers": 0, "more": 0})]
    return sorted(found, key=lambda doc: doc["created_at"])


def redrive_entries(*, ids: list[str] | None = None) -> list[str]:
    """Set entries pending again with fresh attempts, for any relay's next poll: the failed ones, or
    those named (failed or already published: consumers ignore a repeat); the ids set pending."""
    coll = database()[OutboxEntry._get_collection_name()]
    wanted = ids if ids is not None else [doc["_id"] for doc in coll.find({"state": FAILED}, {"_id": 1})]
    now = utcnow()
    done = []
    for entry_id in wanted:
        changed = coll.update_one({"_id": entry_id, "state": {"$in": [FAILED, PUBLISHED]}},
                                  {"$set": {"state": PENDING, "attempts": 0, "lease_until": now}})
        if changed.modified_count:
            done.append(entry_id)
    return done


def states_of(ids: list[str]) -> dict[str, str]:
    """The state of each entry named (by id)."""
    coll = database()[OutboxEntry._get_collection_name()]
    return {doc["_id"]: doc["state"] for doc in coll.find({"_id": {"$in": ids}}, {"state": 1})}

def backlog() -> tuple[dict[str, int], datetime | None]:
    """Entries not published, by state, and when the oldest pending one was written.

    Read through the (state, lease_until) index: the cost grows with the backlog, not the history
    (about 35 ms per 1,000 pending entries on the embedded store)."""
    coll = database()[OutboxEntry._get_collection_name()]
    pending = [d["created_at"] for d in coll.find({"state": PENDING}, {"created_at": 1, "_id": 0})]
    return ({PENDING: len(pending), FAILED: coll.count_documents({"state": FAILED})},
            min(pending, default=None))
