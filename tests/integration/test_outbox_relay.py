"""The outbox relay on the real store: two relays share the pending entries, each goes out once."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Iterator

import pytest

from shared import store
from shared.contracts.escalation import ComplaintStatusChanged
from shared.outbox import PUBLISHED, OutboxEntry, OutboxRelay, emit, pending_count
from tests.support.servers import Servers

pytestmark = pytest.mark.integration


@pytest.fixture
def outbox(servers: Servers, namespace: str) -> Iterator[None]:
    """This module's own database, connected in-process."""
    db = f"{namespace}_outbox"
    store.connect(uri=servers.mongodb_uri, db=db, timeout_ms=3000)
    store.ensure_indexes(OutboxEntry)
    yield
    store.client().drop_database(db)


def status_changes(count: int) -> list[ComplaintStatusChanged]:
    return [ComplaintStatusChanged(complaint_id=f"c-{i}", ticket=f"CP-20261123-{i:06d}", from_state="filed",
                                   to_state="acknowledged", tier="internal") for i in range(count)]


def test_two_relays_publish_every_entry_exactly_once(outbox: None) -> None:
    events = status_changes(60)
    store.transaction(lambda tx: emit(tx, topic="status", messages=events))
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
