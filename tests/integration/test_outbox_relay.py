"""The outbox relay on the real store: two relays share the pending entries, each goes out once."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Iterator
from datetime import timedelta

import bson
import pytest
from opentelemetry import context as otel_context
from opentelemetry import propagate, trace
from opentelemetry.trace import NonRecordingSpan, SpanContext, TraceFlags

from shared import store
from shared.contracts.escalation import ComplaintStatusChanged
from shared.envelope import utcnow
from shared.outbox import (
    CAUSE,
    FAILED,
    PENDING,
    PUBLISHED,
    OutboxEntry,
    OutboxRelay,
    Record,
    emit,
    pending_count,
    prune_published,
    redrive,
    republish_effects,
    stored_records,
)
from tests.support.samples import status_change
from tests.support.servers import Servers, own_database
from tests.support.waiting import wait_until_async

pytestmark = pytest.mark.integration


@pytest.fixture
def outbox(servers: Servers, namespace: str) -> Iterator[None]:
    """This module's own database, connected in-process."""
    with own_database(servers, f"{namespace}_outbox", OutboxEntry):
        yield


def status_changes(count: int) -> list[ComplaintStatusChanged]:
    return [status_change(i) for i in range(count)]


def test_two_relays_publish_every_entry_exactly_once(outbox: None) -> None:
    events = status_changes(60)
    store.run_transaction(lambda tx: emit(tx, topic="status", messages=events))
    published: Counter[str] = Counter()

    async def publish(entry: OutboxEntry) -> None:
        published[entry.id] += 1
        await asyncio.sleep(0)  # let the other relay claim meanwhile

    async def drain(relay: OutboxRelay) -> None:
        # A relay that found its batch leased by the other one comes back empty-handed: go on
        # while anything waits.
        while await asyncio.to_thread(pending_count):
            await relay.run_once()

    relays = [OutboxRelay(publish=publish, batch_size=7, poll_interval_s=0.1, max_attempts=3) for _ in range(2)]

    async def both() -> None:
        await asyncio.gather(*(drain(r) for r in relays))

    asyncio.run(both())
    assert published == Counter({e.event_id: 1 for e in events})
    assert pending_count() == 0
    assert OutboxEntry.objects(state=PUBLISHED).count() == len(events)
    assert sum(r.published_total for r in relays) == len(events)


async def run_and_commit(relay: OutboxRelay, events: list[ComplaintStatusChanged]) -> asyncio.Task[None]:
    """Start the relay as a service would, then commit a transaction that emits the events."""
    running = asyncio.create_task(relay.run(ready=lambda: True))
    await wait_until_async(lambda: asyncio.sleep(0, result=relay.running), timeout=5, what="the relay to run")
    await asyncio.to_thread(store.run_transaction, lambda tx: emit(tx, topic="status", messages=events), sink=relay)
    return running


def test_what_a_transaction_commits_goes_out_at_once_without_waiting_for_a_poll(outbox: None) -> None:
    published: list[str] = []

    async def publish(entry: OutboxEntry) -> None:
        published.append(entry.id)

    # The poll comes once a minute: only the hand-off on commit can publish within the deadline.
    relay = OutboxRelay(publish=publish, batch_size=50, poll_interval_s=60.0, max_attempts=3)
    events = status_changes(60)  # one hand-over, marked published in more than one slice of ids

    async def scenario() -> None:
        running = await run_and_commit(relay, events)
        await wait_until_async(lambda: asyncio.to_thread(lambda: pending_count() == 0), timeout=5,
                               what="the committed entries published and marked")
        running.cancel()

    asyncio.run(scenario())
    assert published == [e.event_id for e in events]
    assert OutboxEntry.objects(state=PUBLISHED, attempts=1).count() == len(events)


def test_entries_handed_to_a_relay_that_died_are_taken_by_a_poll_once_their_lease_runs_out(outbox: None) -> None:
    stalled = asyncio.Event()

    async def never(entry: OutboxEntry) -> None:
        await stalled.wait()  # the process "dies" holding the entries: they are never published

    taken: list[str] = []

    async def publish(entry: OutboxEntry) -> None:
        taken.append(entry.id)

    dying = OutboxRelay(publish=never, batch_size=50, poll_interval_s=60.0, max_attempts=3, handoff_lease_s=2.0)
    survivor = OutboxRelay(publish=publish, batch_size=50, poll_interval_s=0.1, max_attempts=3)
    events = status_changes(3)

    async def scenario() -> None:
        running = await run_and_commit(dying, events)
        # While the hand-off lease holds, another relay's poll leaves the entries alone.
        assert await survivor.run_once() == 0

        async def all_taken() -> bool:
            # Each entry's lease runs out a millisecond after the one before: a poll may take only some.
            await survivor.run_once()
            return len(taken) == len(events)

        await wait_until_async(all_taken, timeout=10, what="the leases to run out and polls to take every entry")
        running.cancel()

    asyncio.run(scenario())
    assert taken == [e.event_id for e in events]
    assert pending_count() == 0


def test_a_batch_goes_to_the_producer_before_any_confirmation_and_a_refused_one_is_sent_again(
        outbox: None) -> None:
    events = status_changes(4)
    store.run_transaction(lambda tx: emit(tx, topic="status", messages=events))
    handed: list[str] = []
    confirmations: list[asyncio.Future[None]] = []

    async def publish(entry: OutboxEntry) -> asyncio.Future[None]:
        handed.append(entry.id)
        confirmations.append(asyncio.get_running_loop().create_future())
        if len(handed) == len(events):  # the broker answers once the whole batch reached it
            for i, confirmation in enumerate(confirmations):
                if i == 2:
                    confirmation.set_exception(RuntimeError("NotLeaderForPartition"))
                else:
                    confirmation.set_result(None)
        return confirmations[-1]

    relay = OutboxRelay(publish=publish, batch_size=50, poll_interval_s=60.0, max_attempts=3)
    # A relay that waited for each confirmation before the next send would wait here for ever.
    sent = asyncio.run(asyncio.wait_for(relay.run_once(), timeout=10))

    assert sent == 4 and handed == [e.event_id for e in events]
    assert relay.published_total == 3
    refused = OutboxEntry.objects.get(id=events[2].event_id)
    assert (refused.state, refused.attempts) == (PENDING, 1) and "NotLeaderForPartition" in refused.last_error
    assert OutboxEntry.objects(state=PUBLISHED).count() == 3


def test_published_entries_past_their_retention_are_removed_and_the_rest_kept(outbox: None) -> None:
    now = utcnow()
    coll = store.database()[OutboxEntry._get_collection_name()]

    def entry(entry_id: str, state: str, went_out: timedelta) -> dict[str, object]:
        return {"_id": entry_id, "topic": "t", "key": "c-1", "message_type": "ComplaintFiled", "payload": "{}",
                "state": state, "created_at": now - went_out, "lease_until": now - went_out + timedelta(seconds=10),
                "attempts": 1}

    coll.insert_many([entry(f"old-{i}", PUBLISHED, timedelta(days=8)) for i in range(5)]
                     + [entry("recent", PUBLISHED, timedelta(days=6)),
                        entry("old-pending", PENDING, timedelta(days=8)),  # not out yet: never removed
                        entry("old-failed", FAILED, timedelta(days=8))])  # kept for whoever looks into it

    removed = [prune_published(older_than=timedelta(days=7), limit=2) for _ in range(4)]

    assert removed == [2, 2, 1, 0]  # in batches of the limit, until none is left
    assert sorted(d["_id"] for d in coll.find()) == ["old-failed", "old-pending", "recent"]
    assert redrive(key="c-1", message_type="ComplaintFiled") == 1  # the recent one can still be re-driven


def test_messages_written_together_are_one_entry_published_in_order_and_marked_once(outbox: None) -> None:
    published: list[tuple[str, str, str]] = []

    async def publish(entry: OutboxEntry) -> None:
        published.append((entry.id, entry.key, entry.topic))

    relay = OutboxRelay(publish=publish, batch_size=50, poll_interval_s=60.0, max_attempts=3)
    events = status_changes(3)

    async def scenario() -> None:
        running = asyncio.create_task(relay.run(ready=lambda: True))
        await wait_until_async(lambda: asyncio.sleep(0, result=relay.running), timeout=5, what="the relay to run")
        await asyncio.to_thread(store.run_transaction,
                                lambda tx: emit(tx, topic="status", messages=events, together=True), sink=relay)
        await wait_until_async(lambda: asyncio.to_thread(lambda: pending_count() == 0), timeout=5,
                               what="the entry published and marked")
        running.cancel()

    asyncio.run(scenario())
    # Each message went out once, in order, under its own id and key; the store kept one entry.
    assert published == [(e.event_id, e.complaint_id, "status") for e in events]
    assert [(e.id, e.state, len(e.more)) for e in OutboxEntry.objects] == [(events[0].event_id, PUBLISHED, 2)]


def test_a_group_s_entries_of_a_topic_are_one_entry_each_record_in_its_own_trace_and_nothing_if_it_fails(
        outbox: None) -> None:
    events = status_changes(3)
    group = store.UnitOfWork.group()
    for n, event in enumerate(events, start=1):
        # Each message handled in its own trace and as the effect of its own cause, as a poll's are.
        span = NonRecordingSpan(SpanContext(trace_id=n, span_id=n, is_remote=True,
                                            trace_flags=TraceFlags(TraceFlags.SAMPLED)))
        token, cause = otel_context.attach(trace.set_span_in_context(span)), CAUSE.set(f"cause-{n}")
        try:
            emit(group, topic="status", messages=[event])
            emit(group, topic="other", messages=status_changes(1))
        finally:
            otel_context.detach(token)
            CAUSE.reset(cause)
    # A message a reconciler re-drives by its key keeps an entry of its own.
    emit(group, topic="status", messages=status_changes(1), findable=True)
    group.commit()
    failing = store.UnitOfWork.group()
    emit(failing, topic="status", messages=status_changes(2))
    failing.abort()  # the change failed: none of its messages was written

    entries = {(e.topic, len(e.more)): e for e in OutboxEntry.objects}
    assert sorted(entries) == [("other", 2), ("status", 0), ("status", 2)]  # one insert per topic, one alone
    records = entries["status", 2].records()
    # In order, each under its own id and key, in the trace it was written in.
    assert [(r.id, r.key) for r in records] == [(e.event_id, e.complaint_id) for e in events]
    written_in = [trace.get_current_span(propagate.extract(r.headers)).get_span_context() for r in records]
    assert [context.trace_id for context in written_in] == [1, 2, 3]
    # The joined entry is found by each of its causes: a cause delivered again long after sends it again.
    store.UnitOfWork.standalone().collection(OutboxEntry).update_many({}, {"$set": {
        "state": PUBLISHED, "published_at": utcnow() - timedelta(hours=1)}})
    assert republish_effects(cause="cause-2", older_than=timedelta(minutes=1)) == 2  # its two topics' entries
    assert sorted((e.topic, len(e.more)) for e in OutboxEntry.objects(state=PENDING)) == [("other", 2), ("status", 2)]
    alone = entries["status", 0]
    assert redrive(key=alone.key, message_type=alone.message_type) == 1


def test_records_written_together_are_stored_packed_and_an_older_entry_s_list_still_goes_out_whole(
        outbox: None) -> None:
    events = status_changes(120)
    store.run_transaction(lambda tx: emit(tx, topic="status", messages=events, together=True))
    coll = store.UnitOfWork.standalone().collection(OutboxEntry)
    stored = coll.find_one({})
    assert stored is not None
    # The 119 records after the first are one compressed value, a fraction of their size as a list.
    assert isinstance(stored["more"], bytes)
    listed = bson.encode({"more": OutboxEntry._from_son(stored).more})
    assert len(stored["more"]) * 4 < len(listed)
    # An entry written before (its records a list of documents), next to the packed one.
    older = status_changes(3)
    coll.insert_one({"_id": older[0].event_id, "topic": "status", "key": older[0].key(), "message_type": older[0].type,
                     "payload": older[0].model_dump_json(), "headers": {}, "kafka_headers": {}, "state": PENDING,
                     "attempts": 0, "created_at": utcnow(), "lease_until": utcnow(),
                     "more": [{"id": e.event_id, "key": e.key(), "message_type": e.type,
                               "payload": e.model_dump_json()} for e in older[1:]]})
    published: list[tuple[str, str]] = []

    async def publish(record: Record) -> None:
        published.append((record.id, record.payload))

    relay = OutboxRelay(publish=publish, batch_size=50, poll_interval_s=60.0, max_attempts=3)
    assert asyncio.run(relay.run_once()) == 2
    # Every record of both went out once, in order, each with its own payload.
    assert published == [(e.event_id, e.model_dump_json()) for e in (*events, *older)]
    # A raw entry's records, for a reader of the store (a diagnosis, a bench): itself, then the packed ones.
    first, *rest = stored_records(stored)
    assert [first["_id"], *(r["id"] for r in rest)] == [e.event_id for e in events]
