"""Webhooks sent before the transaction recording them commits (services/notify/service/early.py):
a transaction undone after its webhooks went out, once or several times, does not send them again
when its events are applied again; a delivery whose transaction was undone before it went out is
dropped, and the copy handed again is the one sent."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from services.notify.adapters.senders import Outcome
from services.notify.config import NotifySettings
from services.notify.models import Notification, Subscription
from services.notify.service.early import EarlySends
from services.notify.service.handoff import Handoff
from services.notify.service.outcomes import Sent

pytestmark = pytest.mark.unit
NOW = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)
ENDPOINT = Subscription(id="sub-1", platform="p-1", owner="o-1", url="https://partner.example/hook")


class Unit:
    """What a consumer's shared transaction offers its work (shared.store.UnitOfWork), without a store."""

    def __init__(self) -> None:
        self.before_commit: list[Any] = []
        self.after_commit: list[Any] = []
        self.after_abort: list[Any] = []
        self.queued: dict[Any, Any] = {}
        self.read_ahead: dict[Any, Any] = {}

    async def undo(self) -> None:
        for hook in self.after_abort:
            hook()
        await settle_down()

    async def commit(self) -> None:
        for hook in self.after_commit:
            hook()
        await settle_down()


async def settle_down() -> None:
    for _ in range(5):
        await asyncio.sleep(0)


def rows(count: int) -> list[dict[str, Any]]:
    return [{"_id": f"d-{n}", "event_id": f"e-{n}", "event_type": "ComplaintFiled", "channel": "webhook",
             "recipient_key": "p-1:partner:sub-1", "recipient_id": "sub-1", "recipient_role": "partner",
             "language": "zh-CN", "subscription_id": "sub-1", "state": "pending", "attempts": 0,
             "next_attempt_at": NOW, "lease_until": NOW + timedelta(seconds=60), "lease_token": "handoff-1",
             "created_at": NOW} for n in range(count)]


class Worker:
    """The worker's part: what is handed to it, what it sends (counted per delivery), what it settles."""

    def __init__(self) -> None:
        self.handed: list[Notification] = []
        self.posts: Counter[str] = Counter()
        self.settled: list[str] = []
        self.early = EarlySends(settings=NotifySettings(), hand_over=self.handed.extend, settle=self.settle)

    async def settle(self, sent: Sent) -> None:
        self.settled.append(sent.doc.id)

    async def deliver(self, doc: Notification) -> str:
        """As DeliveryWorker._deliver: dropped, or sent (once) and then as its transaction ended."""
        if self.early.dropped(doc):
            return "dropped"

        async def post() -> Outcome:
            self.posts[doc.id] += 1
            return Outcome(started_at=NOW, status_code=204, latency_ms=3, error=None)

        outcome = await self.early.send(doc, ENDPOINT, post)
        return await self.early.after_send(Sent(doc=doc, subscription=ENDPOINT, outcome=outcome))

    def take(self) -> list[Notification]:
        taken, self.handed[:] = list(self.handed), []
        return taken

    async def record(self, count: int) -> Unit:
        """A transaction recording `count` webhook deliveries, handed to the worker before its commit."""
        unit = Unit()
        assert self.early.accept(unit, rows(count))
        await settle_down()
        return unit


async def running() -> Worker:
    worker = Worker()
    worker.early.start(asyncio.get_running_loop())
    return worker


def test_a_transaction_undone_twice_after_its_webhooks_went_out_does_not_send_them_again() -> None:
    async def scenario() -> None:
        worker = await running()
        first = await worker.record(3)
        sending = [asyncio.create_task(worker.deliver(doc)) for doc in worker.take()]
        await settle_down()
        await first.undo()
        assert await asyncio.gather(*sending) == ["undone"] * 3
        # Applied again: handed again under the same ids, and undone again (a second conflict).
        second = await worker.record(3)
        assert worker.take() == []  # the sends made are taken over, not made again
        await second.undo()
        third = await worker.record(3)
        assert worker.take() == []
        await third.commit()
        assert sorted(worker.settled) == ["d-0", "d-1", "d-2"]  # recorded by the worker's settle
        assert worker.posts == Counter({"d-0": 1, "d-1": 1, "d-2": 1})

    asyncio.run(scenario())


def test_a_delivery_whose_transaction_was_undone_before_it_went_out_is_dropped_and_its_new_copy_sent() -> None:
    async def scenario() -> None:
        worker = await running()
        first = await worker.record(2)
        stale = worker.take()
        await first.undo()
        second = await worker.record(2)
        fresh = worker.take()
        assert [await worker.deliver(doc) for doc in stale] == ["dropped", "dropped"]
        delivering = [asyncio.create_task(worker.deliver(doc)) for doc in fresh]
        await settle_down()
        await second.commit()
        assert await asyncio.gather(*delivering) == ["stored", "stored"]  # not folded here: settled after
        assert worker.posts == Counter({"d-0": 1, "d-1": 1})

    asyncio.run(scenario())


def test_deliveries_handed_while_the_worker_is_not_running_are_given_on_commit() -> None:
    worker = Worker()
    unit = Unit()
    given: list[list[Notification]] = []
    handoff = Handoff(lease=timedelta(seconds=60), give=given.append, give_early=worker.early.accept)
    handoff.give_on_commit(unit, [row | {"lease_token": handoff.token} for row in rows(1)])
    assert unit.before_commit == [] and worker.handed == [] and given == []
    for hook in unit.after_commit:
        hook()
    assert [[doc.id for doc in docs] for docs in given] == [["d-0"]]
