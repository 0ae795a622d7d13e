"""Due timers claimed under a lease, one instance at a time, starting from the shared due floor."""

from __future__ import annotations

import random
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any

from pymongo import UpdateOne
from pymongo.errors import PyMongoError

from services.escalation.models import Timer
from services.escalation.repository.cases import CaseChanged
from services.escalation.repository.timers import FLOOR_ID, FLOORS
from shared.envelope import new_id, utcnow
from shared.store import Sink, UnitOfWork, client, database, is_conflict
from shared.store.by_ids import find_by_ids, update_by_ids


def _timers() -> Any:
    return database()[Timer._get_collection_name()]


def _floors() -> Any:
    return database()[FLOORS]


class DueScan:
    """How wide a slice of due times one claim query covers; it adapts so no query matches a flood."""

    def __init__(self, *, slice_s: float = 1.0) -> None:
        self.slice_s = slice_s

    def widen(self) -> None:
        """The last slice held less than a batch: look further next time."""
        self.slice_s = min(self.slice_s * 2, 3600.0)

    def narrow(self) -> None:
        """The last slice held a full batch: look nearer next time."""
        self.slice_s = max(self.slice_s / 2, 0.05)


def claim_one(*, owner: str, lease_s: float, now: datetime | None = None) -> dict[str, Any] | None:
    """Claim the earliest due timer (or one whose owner's lease ran out); None when nothing is due."""
    claimed = claim_due(owner=owner, lease_s=lease_s, limit=1, now=now)
    return claimed[0] if claimed else None


def claim_due(*, owner: str, lease_s: float, limit: int, now: datetime | None = None,
              scan: DueScan | None = None) -> list[dict[str, Any]]:
    """Claim up to limit due timers, oldest first: expired leases, then slices from the due floor."""
    now, scan = now or utcnow(), scan or DueScan()
    token = new_id()
    until = now + timedelta(seconds=lease_s)
    # As the store keeps it (milliseconds): the claimed timers are handed back as written, unread.
    lease = {"$set": {"state": "firing", "owner": owner, "lease_token": token,
                      "lease_until": until.replace(microsecond=until.microsecond // 1000 * 1000)}}
    # The timers being fired are few: found by state alone (the index), the lapsed leases among them here.
    firing = sorted((d for d in _timers().find({"state": "firing"}, {"lease_until": 1})
                     if d.get("lease_until") is not None and d["lease_until"] <= now),
                    key=lambda d: d["lease_until"])
    claimed = _claim_ids([d["_id"] for d in firing[:limit]], {"state": "firing", "lease_until": {"$lte": now}},
                         lease, token)
    floor_doc = _floors().find_one({"_id": FLOOR_ID})
    floor = floor_doc["due_at"] if floor_doc else None
    # Every commit of timers due soon bumps `v` (timers.lower_floor): moving the floor on only if `v`
    # is unchanged means no timer committed after this round's scan is stepped over.
    version = floor_doc.get("v") if floor_doc else None
    while floor is not None and floor <= now and len(claimed) < limit:
        hi = min(now, floor + timedelta(seconds=scan.slice_s))
        want = limit - len(claimed)
        got, found = _claim({"state": "scheduled", "due_at": {"$gte": floor, "$lte": hi}}, "due_at",
                            want, lease, token)
        claimed += got
        if found >= want:
            scan.narrow()
            break
        # Nothing scheduled is left up to hi: move the shared floor on, unless a new overdue timer
        # lowered it meanwhile (then the compare-and-set fails and the next round starts lower).
        scan.widen()
        if _floors().update_one({"_id": FLOOR_ID, "due_at": floor, "v": version},
                                {"$set": {"due_at": hi}}).modified_count != 1:
            break
        if hi >= now:
            break
        floor = hi
    return sorted(claimed, key=lambda d: d["due_at"])


@contextmanager
def group_transaction(*, sink: Sink | None) -> Iterator[UnitOfWork]:
    """One transaction for a group of claimed timers, committed when the block ends.

    A write conflict with another writer of one of its cases (the store's TransientTransactionError)
    undoes the group and raises CaseChanged, for its members to be fired one by one."""
    group = UnitOfWork.group(sink=sink)
    try:
        yield group
        group.commit()
    except PyMongoError as exc:
        group.abort()
        if exc.has_error_label("TransientTransactionError"):
            raise CaseChanged("a case of the group was written meanwhile") from exc
        raise
    except BaseException:
        group.abort()
        raise


def rewind_floor(*, back_s: float, now: datetime | None = None) -> None:
    """Move the due floor back a little, so a timer scheduled while the floor moved is not missed."""
    at = (now or utcnow()) - timedelta(seconds=back_s)
    _floors().update_one({"_id": FLOOR_ID}, {"$min": {"due_at": at}})


def next_due(*, within_s: float, now: datetime | None = None) -> datetime | None:
    """When the earliest timer due in the next within_s seconds is due, or None."""
    now = now or utcnow()
    # A bounded range keeps the query to what is imminent, however many timers wait further out.
    window = {"state": "scheduled", "due_at": {"$gt": now, "$lte": now + timedelta(seconds=within_s)}}
    doc = _timers().find_one(window, {"due_at": 1}, sort=[("due_at", 1)])
    return doc["due_at"] if doc else None


def _claim(due: dict[str, Any], order: str, limit: int, lease: dict[str, Any],
           token: str) -> tuple[list[dict[str, Any]], int]:
    """Claim up to limit timers matching due; returns them and how many candidates there were."""
    for _ in range(CLAIM_ATTEMPTS):
        ids = [d["_id"] for d in _timers().find(due, {"_id": 1}).sort(order, 1).limit(limit)]
        claimed = _claim_together(ids, due, lease)
        if claimed is not None:
            return claimed, len(ids)
        # Another instance is claiming the same timers: once it has committed, they no longer
        # match and the query finds the next ones.
        time.sleep(random.uniform(0.01, 0.05))
    return _claim_one_by_one(ids, due, lease, token), len(ids)


def _claim_ids(ids: list[str], due: dict[str, Any], lease: dict[str, Any], token: str) -> list[dict[str, Any]]:
    """Claim the timers of those ids that still match due; returns the ones claimed."""
    claimed = _claim_together(ids, due, lease)
    return claimed if claimed is not None else _claim_one_by_one(ids, due, lease, token)


#: Tries of a claim in one transaction before it goes statement by statement.
CLAIM_ATTEMPTS = 3


def _claim_together(ids: list[str], due: dict[str, Any], lease: dict[str, Any]) -> list[dict[str, Any]] | None:
    """Claim the timers of those ids that still match due in one transaction; the ones claimed, or
    None when another writer holds or took one of them meanwhile (nothing was claimed then).

    Outside a transaction the store commits (and syncs to disk) each statement on its own while
    holding the timers' collection, which made the claim the costliest part of a burst. Here the
    timers are read, and the ones still matching written by id alone, a slice of ids a statement
    (by_ids): a filter of more than the id costs the embedded store an index search per document.
    A writer that took one since the read, or holds an uncommitted change of one, fails the
    transaction at once (a write conflict): in a transaction the store does not wait out a
    conflict under the collection's lock, as it does for an update_many outside one."""
    if not ids:
        return []
    try:
        with client().start_session() as session, session.start_transaction():
            found = [d for d in find_by_ids(_timers(), ids, session=session) if matches(d, due)]
            update_by_ids(_timers(), [d["_id"] for d in found], lease, session=session)
    except PyMongoError as exc:
        if is_conflict(exc):
            return None
        raise
    return [{**d, **lease["$set"]} for d in found]


def _claim_one_by_one(ids: list[str], due: dict[str, Any], lease: dict[str, Any],
                      token: str) -> list[dict[str, Any]]:
    """Claim the timers of those ids that still match due, each in a statement of its own."""
    if not ids:
        return []
    # The conditional update is the claim: a timer another instance took meanwhile no longer
    # matches, and firing re-checks the token inside the transaction. One single-document update
    # per timer, never update_many: a timer whose lease ran out may carry the uncommitted change of
    # an instance SIGKILLed mid-fire. The embedded store retries a multi-document update's conflict
    # with it forever while holding the collection lock (every write of every service then hangs);
    # a single-document update waits for the dead transaction to be reaped without holding it. The
    # store applies each statement of a bulk write as such an update of its own, so they go out
    # together: one request rather than one per timer.
    _timers().bulk_write([UpdateOne({"_id": timer_id, **due}, lease) for timer_id in ids], ordered=False)
    return [d for d in _timers().find({"_id": {"$in": ids}}) if d.get("lease_token") == token]


def matches(timer: dict[str, Any], due: dict[str, Any]) -> bool:
    """Whether a timer as read still matches a claim's filter: its state, and its due time or
    lease end within the filter's bounds."""
    for field, want in due.items():
        have = timer.get(field)
        if not isinstance(want, dict):
            if have != want:
                return False
            continue
        if have is None:
            return False
        if "$gte" in want and have < want["$gte"] or "$lte" in want and have > want["$lte"]:
            return False
    return True
