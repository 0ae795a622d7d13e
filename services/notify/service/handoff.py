"""Webhook deliveries handed from the transaction that records them straight to this process's
delivery worker, leased to it from the start: no claim (a read of the due set and a write per
delivery) stands between an event and its POST.

If the process dies before sending, the lease runs out and any worker's claim takes them, as it
takes any due delivery; a delivery whose endpoint turns out paused or backing off is released at
once (its lease set back) for the claims that wait on the endpoint."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Container, Mapping
from datetime import datetime, timedelta
from typing import Any

from services.notify import repository
from services.notify.models import Notification, Subscription
from services.notify.service.delivery import Claimed, held_endpoint
from shared.envelope import new_id
from shared.store import UnitOfWork

#: Set in a unit's read-ahead when one of its events was applied before (redelivered by the broker):
#: its webhooks are given on commit, not sent early (the group fails on the ledger: service/early.py).
REPEATS_AHEAD = ("early webhooks", "repeats")


def new_token() -> str:
    """A process's hand-over token: the lease token of the deliveries it hands to itself."""
    return f"handoff-{new_id()}"


class Handoff:
    """One per process: leases recorded webhook intents to this worker and gives them to it on commit."""

    def __init__(self, *, lease: timedelta, give: Callable[[list[Notification]], None],
                 give_early: Callable[[UnitOfWork, list[dict[str, Any]]], bool] | None = None,
                 token: str | None = None) -> None:
        self.lease = lease
        self.token = token or new_token()
        self._give = give
        self._give_early = give_early

    def lease_new(self, rows: list[dict[str, Any]], *, now: datetime) -> None:
        """Lease the webhook intents among `rows` (not yet stored) to this process."""
        for one in rows:
            if one["channel"] == "webhook" and one["state"] == "pending":
                one["lease_until"], one["lease_token"] = now + self.lease, self.token

    def give_on_commit(self, tx: UnitOfWork, created: list[dict[str, Any]]) -> None:
        """Once `tx` commits, give the worker the leased intents it recorded."""
        mine = [one for one in created if one.get("lease_token") == self.token]
        if not mine:
            return
        if self._give_early is not None and not tx.read_ahead.get(REPEATS_AHEAD) and self._give_early(tx, mine):
            return  # its owner awaits the unit's hooks before committing: sent now (service/early.py)
        tx.after_commit.append(lambda: self._give([Notification._from_son(one) for one in mine]))


def take_handed(waiting: list[Notification], *, now: datetime, margin: timedelta, room: int,
                in_flight: Counter[str], caps: Mapping[str, int], per_endpoint: int,
                unstored: Container[str] = ()) -> Claimed:
    """Of the handed deliveries waiting (oldest first, changed in place), take what the worker has
    room for (overall, and per endpoint as a claim would); drop those whose lease is nearly out (a
    claim takes them after it), release those of a paused or backing-off endpoint (the `unstored`
    ones, handed before their transaction committed, are released by it: service/early.py)."""
    waiting[:] = [doc for doc in waiting if doc.lease_until - now > margin]
    if not waiting or room <= 0:
        return Claimed([])
    endpoints: dict[str, Subscription] = repository.list_endpoints_by_id(
        ids={doc.subscription_id for doc in waiting if doc.subscription_id})
    taken: list[Notification] = []
    kept: list[Notification] = []
    released: list[Notification] = []
    count = Counter(in_flight)
    for doc in waiting:
        endpoint = endpoints.get(doc.subscription_id or "")
        if endpoint is None or held_endpoint(endpoint, now):
            released.append(doc)  # deleted (its claim fails it) or held: claims decide when
        elif len(taken) < room and count[endpoint.id] < caps.get(endpoint.id, per_endpoint):
            count[endpoint.id] += 1
            taken.append(doc)
        else:
            kept.append(doc)
    waiting[:] = kept
    released = [doc for doc in released if doc.id not in unstored]
    if released:
        repository.update_released(ids=[doc.id for doc in released], token=released[0].lease_token or "", now=now)
    return Claimed(taken, {doc.subscription_id: endpoints[doc.subscription_id] for doc in taken
                           if doc.subscription_id})
