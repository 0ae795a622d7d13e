"""The reconciler: intake owns the complaint, so it re-drives filings some service never acted on.

The broker here keeps messages in memory only; after it restarts, a ComplaintFiled (or what the
services answered with) may be gone. The store still knows which complaints lack a step, and
publishing their ComplaintFiled again is safe: consumers ignore what they applied, and send
their own old effects again when the cause comes back late (see shared.outbox).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from services.intake import repository
from services.intake.domain.actors import ACTORS
from shared.bus import partition_of
from shared.envelope import utcnow
from shared.outbox import redrive


def _missing(doc: dict[str, Any], waits: dict[str, set[str]]) -> set[str]:
    missing = set(waits.get(doc["_id"], ()))
    if doc.get("status") == "filed":
        missing.add("escalation")
    return missing


class Activity:
    """When this process last saw each service act, on the partitions it folds steps from.

    A service that has done nothing for a while has nothing queued. One that acts on any partition
    is busy: under a backlog it may leave a partition without a step for minutes while it works
    through the others, so silence on one partition alone proves nothing. Only partitions this
    process watches are judged (another instance watches the rest), and only once it has watched
    them for the bound: a restart or a rebalance does not look like a stall.
    """

    def __init__(self) -> None:
        self._seen: dict[str, datetime] = {}
        self._watched: dict[str, dict[int, datetime]] = {}

    def watch(self, actor: str, partitions: set[int]) -> None:
        """The partitions whose steps from `actor` this process receives now."""
        now, watched = utcnow(), self._watched.setdefault(actor, {})
        for gone in set(watched) - partitions:
            del watched[gone]
        for new in partitions - set(watched):
            watched[new] = now

    def note(self, actor: str) -> None:
        """A step of the actor just arrived."""
        self._seen[actor] = utcnow()

    def idle(self, actor: str, partition: int, *, since: datetime) -> bool:
        """Whether this process has watched the partition and seen the actor do nothing since `since`."""
        watched_from = self._watched.get(actor, {}).get(partition)
        if watched_from is None:
            return False
        return max(watched_from, self._seen.get(actor, watched_from)) < since


def redrive_stuck(*, after: timedelta, horizon: timedelta, partitions: int,
                  idle: Callable[[str, int], bool], limit: int = 500) -> list[str]:
    """Publish again the ComplaintFiled of complaints a service passed by; return their tickets.

    A consumer works through each partition in order, so a complaint still lacking a service's step
    while that service has acted on a complaint of the same partition filed `after` later was
    skipped: its event was lost. So was it when `idle(service, partition)` says the service has done
    nothing for the bound (see Activity). A complaint merely queued behind a backlog is left alone,
    since re-sending it would only lengthen the backlog.
    """
    now = utcnow()
    found, waits = repository.waits.list_waiting(now=now, after=after, horizon=horizon)
    # Never re-driven, or not lately.
    waiting = sorted(((doc, missing) for doc in found.values()
                      if not doc.get("redriven_at") or doc["redriven_at"] < now - after
                      if (missing := _missing(doc, waits))), key=lambda pair: pair[0]["filed_at"])
    if not waiting:
        return []
    # How far each service got in each partition, among complaints filed since the oldest waiting one.
    filed, waits = repository.waits.list_filed_since(since=waiting[0][0]["filed_at"])
    latest: dict[tuple[str, int], datetime] = {}
    for doc in filed:
        part, missing = partition_of(doc["_id"], partitions), _missing(doc, waits)
        for actor in ACTORS:
            if actor not in missing:
                latest[actor, part] = max(latest.get((actor, part), doc["filed_at"]), doc["filed_at"])
    stuck = []
    for doc, missing in waiting:
        part = partition_of(doc["_id"], partitions)
        if any(idle(a, part) or latest.get((a, part), doc["filed_at"]) - doc["filed_at"] >= after
               for a in missing):
            stuck.append(doc)
        if len(stuck) >= limit:
            break
    for doc in stuck:
        redrive(key=doc["_id"], message_type="ComplaintFiled")
        repository.waits.update_redriven(complaint_id=doc["_id"], at=now)
    return [doc["ticket"] for doc in stuck]
