"""Webhook deliveries sent while the transaction that records them is still open: what was
delivered by its commit is stored delivered by that transaction, with no settle of its own.

A consumer's shared transaction records a group's webhook intents leased to this process's worker
(service/handoff.py). Handed at once instead of after the commit, they are sent while the
transaction before this one commits; just before this one commits (`EarlyBatch.fold`), the
deliveries that succeeded are written delivered in it, with their attempts' log page and their
NotificationSent facts. The others stay pending under the worker's lease and are settled by the
worker as any handed delivery. One insert instead of an insert and an update: a settle's update
cost the embedded store more than the delivery's insert (bench/RESULTS.md, Webhooks).

- A transaction undone (a conflict, a repeat in its group) stored nothing: its events are applied
  again and hand their deliveries again under the same ids; a delivery already sent, or still
  being sent, is not sent again: its outcome is taken over (`EarlySends`).
- An event applied before (redelivered by the broker) is not sent early: its group fails on the
  ledger, and the event is found applied (handoff.REPEATS_AHEAD, read ahead with the group).
- If the process dies before the commit, its events are consumed again and their deliveries sent
  again under the same webhook-id: at least once, as when it dies between a send and its settle.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Iterable
from datetime import datetime
from typing import Any, Literal

from services.notify import repository
from services.notify.adapters.senders import Outcome
from services.notify.config import NotifySettings
from services.notify.models import Notification, Subscription
from services.notify.service.outcomes import Sent, _attempt, _changes, _healthy
from services.notify.service.planning import notification_sent
from shared.envelope import utcnow
from shared.outbox import emit
from shared.store import UnitOfWork

#: Sends of undone transactions kept for their deliveries handed again (oldest dropped past this).
SENDS_KEPT = 10_000


class EarlyBatch:
    """One transaction's webhook deliveries handed before its commit: their outcomes as they come,
    then what the commit recorded (`recorded`: the ids stored delivered by it; None when undone)."""

    def __init__(self, *, token: str, loop: asyncio.AbstractEventLoop) -> None:
        self.ids: set[str] = set()
        self.token = token  # the lease they are stored under
        self.rows: list[dict[str, Any]] = []  # as queued in the transaction, added to by each event
        self.outcomes: dict[str, Sent] = {}
        self.released: set[str] = set()  # not sent now (endpoint held): stored free for a claim
        self.complete = asyncio.Event()
        self.recorded: asyncio.Future[frozenset[str] | None] = loop.create_future()
        self.folded: frozenset[str] = frozenset()
        self.freed: frozenset[str] = frozenset()  # released before the fold: stored free

    @property
    def committed(self) -> bool:
        return self.recorded.done() and self.recorded.result() is not None

    @property
    def undone(self) -> bool:
        return self.recorded.done() and self.recorded.result() is None

    def add(self, ids: Iterable[str]) -> None:
        self.ids.update(ids)
        self._check()

    def heard(self, sent: Sent) -> None:
        self.outcomes[sent.doc.id] = sent
        self._check()

    def release(self, delivery_id: str) -> None:
        self.released.add(delivery_id)
        self._check()

    def _check(self) -> None:
        if len(self.outcomes) + len(self.released) >= len(self.ids):
            self.complete.set()
        else:
            self.complete.clear()

    async def fold(self, tx: UnitOfWork, *, grace_s: float, settings: NotifySettings) -> None:
        """Just before the commit: wait up to `grace_s` for the sends still out, then write what
        was delivered into the queued rows (shared.store.UnitOfWork.add encodes them at commit)."""
        if not self.complete.is_set() and grace_s > 0:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.complete.wait(), grace_s)
        self.freed = frozenset(self.released)
        self.folded = fold_delivered(tx, rows=self.rows, sent=list(self.outcomes.values()), released=self.freed,
                                     now=utcnow(), settings=settings)


def fold_delivered(tx: UnitOfWork, *, rows: list[dict[str, Any]], sent: list[Sent], released: frozenset[str],
                   now: datetime, settings: NotifySettings) -> frozenset[str]:
    """Write into queued rows what was delivered before their commit, as a settle would (one log
    page for the attempts, state delivered, the facts published); free the released ones for a
    claim. The ids written delivered."""
    # A failed send, or one to an endpoint not healthy as read, is settled by the worker after the
    # commit: that updates the endpoint's health and schedules the retry.
    ok = {one.doc.id: one for one in sent if one.outcome.ok and one.subscription is not None
          and _healthy(one.subscription, failing=set())}
    done = frozenset(ok)
    if ok:
        page = repository.create_log(tx, attempts=[_attempt(one) for one in ok.values()], now=now)
        for row in rows:
            if row["_id"] in done:
                one = ok[row["_id"]]
                # What a settle sets on a delivered one (outcomes._changes), as a stored row has it (no None).
                changes, _ = _changes(one, now=now, settings=settings)
                row.update({name: value for name, value in changes.items() if value is not None},
                           attempts=one.doc.attempts + 1, log=[page])
        facts = [notification_sent(row) for row in rows if row["_id"] in done and row.get("complaint_id")]
        if facts:
            emit(tx, topic=settings.topics.notify_events, messages=facts, together=True)
    for row in rows:
        if row["_id"] in released:
            row["lease_until"] = now
            row.pop("lease_token", None)
    return done


def _on_loop(loop: asyncio.AbstractEventLoop, call: Callable[[EarlyBatch], None], batch: EarlyBatch) -> None:
    loop.call_soon_threadsafe(call, batch)


After = Literal["not early", "folded", "stored", "undone"]


class EarlySends:
    """The delivery worker's side of early deliveries: all on its event loop but `accept`.

    A handed delivery is known by its document object (a delivery handed again after an undone
    transaction is another object under the same id: the older one is dropped, not sent)."""

    def __init__(self, *, settings: NotifySettings, hand_over: Callable[[list[Notification]], None],
                 settle: Callable[[Sent], Awaitable[None]]) -> None:
        self._settings = settings
        self._hand_over = hand_over
        self._settle = settle
        self._loop: asyncio.AbstractEventLoop | None = None
        self._of: dict[int, tuple[Notification, EarlyBatch]] = {}  # handed early, not sent or dropped yet
        #: Sends made for a transaction not committed yet, by delivery id: a delivery handed again
        #: (its transaction undone, its event applied again) takes over the outcome.
        self._sends: OrderedDict[str, asyncio.Future[Sent]] = OrderedDict()

    def start(self, loop: asyncio.AbstractEventLoop | None) -> None:
        self._loop = loop

    def _batch(self, doc: Notification) -> EarlyBatch | None:
        found = self._of.get(id(doc))
        return found[1] if found is not None else None

    def unstored(self, doc: Notification) -> bool:
        """Handed early and its transaction not committed: a release of it is the transaction's to write."""
        batch = self._batch(doc)
        return batch is not None and not batch.committed

    def accept(self, tx: UnitOfWork, rows: list[dict[str, Any]]) -> bool:
        """Take `tx`'s webhook deliveries before it commits (from the handler's thread); False when
        not taken (the worker is not running, or `tx`'s owner awaits nothing before its commit)."""
        loop = self._loop
        if loop is None or tx.before_commit is None:
            return False
        key = ("early webhooks", id(self))
        batch: EarlyBatch | None = tx.queued.get(key)
        if batch is None:  # the unit's first: one batch and one fold for all its events' deliveries
            made = batch = tx.queued[key] = EarlyBatch(token=rows[0].get("lease_token") or "", loop=loop)
            grace = self._settings.webhook_early_wait_s
            tx.before_commit.append(lambda: made.fold(tx, grace_s=grace, settings=self._settings))
            tx.after_commit.append(functools.partial(_on_loop, loop, self._committed, made))
            tx.after_abort.append(functools.partial(_on_loop, loop, self._undone, made))
        batch.rows.extend(rows)
        docs = [Notification._from_son(one) for one in rows]
        loop.call_soon_threadsafe(self._hand, batch, docs)
        return True

    def _hand(self, batch: EarlyBatch, docs: list[Notification]) -> None:
        batch.add(doc.id for doc in docs)
        fresh = []
        for doc in docs:
            prior = self._sends.pop(doc.id, None)
            self._of[id(doc)] = (doc, batch)
            if prior is None:
                fresh.append(doc)
            else:  # sent, or being sent, for a transaction that was undone: its outcome is this one's
                asyncio.get_running_loop().create_task(self._take_over(doc, prior))
        if fresh:
            self._hand_over(fresh)

    async def _take_over(self, doc: Notification, prior: asyncio.Future[Sent]) -> None:
        try:
            before = await prior
        except Exception:  # noqa: BLE001  # the send broke: its lease brings the delivery to a claim
            self.released([doc])
            return
        sent = Sent(doc=doc, subscription=before.subscription, outcome=before.outcome)
        after = await self.after_send(sent)
        if after == "stored":
            await self._settle(sent)
        elif after == "undone":  # undone again: the outcome waits for the next hand-over
            self._keep(sent)

    def _keep(self, sent: Sent) -> None:
        if self._loop is None:
            return
        kept: asyncio.Future[Sent] = self._loop.create_future()
        kept.set_result(sent)
        self._remember(sent.doc.id, kept)

    def _remember(self, delivery_id: str, send: asyncio.Future[Sent]) -> None:
        self._sends[delivery_id] = send
        while len(self._sends) > SENDS_KEPT:
            self._sends.popitem(last=False)

    def _committed(self, batch: EarlyBatch) -> None:
        if not batch.recorded.done():
            batch.recorded.set_result(batch.folded)
        for delivery_id in batch.ids:
            self._sends.pop(delivery_id, None)
        # Released between the fold and the commit: stored under the worker's lease, freed now.
        self._free(batch, batch.released - batch.freed)

    def _undone(self, batch: EarlyBatch) -> None:
        if not batch.recorded.done():
            batch.recorded.set_result(None)

    def _free(self, batch: EarlyBatch, ids: Iterable[str]) -> None:
        ids = sorted(ids)
        if ids and self._loop is not None:
            self._loop.create_task(asyncio.to_thread(repository.update_released, ids=ids, token=batch.token,
                                                     now=utcnow()))

    def dropped(self, doc: Notification) -> bool:
        """Whether a handed delivery is void (its transaction undone before it was sent): not to be sent."""
        batch = self._batch(doc)
        if batch is not None and batch.undone:
            del self._of[id(doc)]
            return True
        return False

    def released(self, docs: Iterable[Notification], *, stored_free: bool = True) -> None:
        """Handed early and not sent now (their endpoint held, their lease nearly out): stored free
        (`stored_free`: by the store, once their transaction committed; else the caller frees them)."""
        for doc in docs:
            found = self._of.pop(id(doc), None)
            if found is not None:
                batch = found[1]
                batch.release(doc.id)
                if batch.committed and stored_free:
                    self._free(batch, [doc.id])

    async def send(self, doc: Notification, subscription: Subscription | None,
                   attempt: Callable[[], Awaitable[Outcome]]) -> Outcome:
        """Send a delivery once: a send made for an undone transaction is not made again."""
        prior = self._sends.pop(doc.id, None)
        if prior is not None:
            with contextlib.suppress(Exception):
                return (await prior).outcome
        batch = self._batch(doc)
        if batch is None or batch.committed or self._loop is None:
            return await attempt()
        made: asyncio.Future[Sent] = self._loop.create_future()
        self._remember(doc.id, made)
        try:
            outcome = await attempt()
        except BaseException as exc:
            made.set_exception(exc)
            made.exception()  # retrieved: nobody need wait for it
            raise
        made.set_result(Sent(doc=doc, subscription=subscription, outcome=outcome))
        return outcome

    async def after_send(self, sent: Sent) -> After:
        """For a delivery handed early: wait for its transaction's end; whether it stored it
        delivered, stored it pending (the worker settles it), or was undone."""
        found = self._of.pop(id(sent.doc), None)
        if found is None:
            return "not early"
        batch = found[1]
        batch.heard(sent)
        folded = await batch.recorded
        if folded is None:
            return "undone"
        return "folded" if sent.doc.id in folded else "stored"
