"""A case's Timer documents kept in line with its clocks, and the due floor under all timers.

Timers carry one index besides the id: the embedded store rewrites every index of a document it
writes, and a case opens with eight timers. The id names complaint, clock and kind (one timer
each), so a case's timers are read by id; the few timers being fired are found by state alone.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any

from opentelemetry import propagate
from pymongo import InsertOne, UpdateOne

from services.escalation.domain.clocks import Clock
from services.escalation.models import Timer
from shared.envelope import utcnow
from shared.store import UnitOfWork
from shared.store.by_ids import find_by_ids, update_by_ids

KINDS = ("warning", "day_before", "breach")
# One document holds the due floor: no scheduled timer is due before it, so claim queries start
# there and cover a bounded slice (a query over every overdue timer would grow with the backlog).
FLOORS, FLOOR_ID = "timer_floor", "floor"
_SAME = timedelta(milliseconds=2)  # the store keeps milliseconds


def timer_id(*, complaint_id: str, clock: str, kind: str) -> str:
    """The id of a clock's warning or breach timer."""
    return f"{complaint_id}:{clock}:{kind}"


def generation(*, clock: Clock) -> str:
    """A clock's start instant: a restarted clock fires its timers again, a resumed one does not."""
    return clock.started_at.isoformat()


def same_instant(a: datetime, b: datetime) -> bool:
    """Equal up to the store's millisecond precision."""
    return abs(a - b) < _SAME


def matches_clock(*, timer: Mapping[str, Any], clock: Clock | None) -> bool:
    """Whether a stored timer is still one its clock wants: same kind and due time, same run."""
    wanted = dict(clock.timers()) if clock else {}
    kind = timer["kind"]
    return (clock is not None and kind in wanted and same_instant(wanted[kind], timer["due_at"])
            and generation(clock=clock) == timer.get("generation"))


def sync_timers(tx: UnitOfWork, *, complaint_id: str, ticket: str, clocks: Mapping[str, Clock],
                new_case: bool = False, previous: Mapping[str, Clock] | None = None) -> None:
    """Schedule, move, pause or cancel the case's timers so they match its clocks.

    A new case has no timers yet: nothing is read and its timers go in with one insert. Inside
    `syncs_together` the case's timers are read and written with the others' when the block ends,
    only those of the clocks that differ from `previous` (the clocks as the case stored them)."""
    trace: dict[str, str] = {}
    propagate.inject(trace)
    held = tx.held(Timer)
    if held is not None and not new_case:
        # A clock the step left as it was keeps the timers its last sync wrote, and a clock the case
        # did not have has none yet (clocks are never removed): in a group of fires, reading every
        # clock's timers was most of the group's statements (an escalating breach stops one clock
        # of seven and starts one).
        changed = {n: c for n, c in clocks.items() if previous is None or previous.get(n) != c}
        if changed:
            had = set(changed) if previous is None else set(changed) & set(previous)
            held.append((complaint_id, ticket, changed, trace, had))
        return
    coll = tx.collection(Timer)
    existing = {} if new_case else {d["_id"]: d for d in coll.find(
        {"_id": {"$in": _ids(complaint_id=complaint_id, clocks=clocks)}}, session=tx.session)}
    inserts, changes, scheduled = _plan(existing=existing, complaint_id=complaint_id, ticket=ticket, clocks=clocks,
                                        trace=trace)
    if new_case:
        # Nothing reads a new case's timers back in its transaction: with the poll's other writes.
        tx.write(Timer, [InsertOne(doc) for doc in inserts])
    elif inserts or changes:
        # At once and in one request (a step re-syncs several timers; the store charges per request).
        coll.bulk_write([*changes, *(InsertOne(doc) for doc in inserts)], ordered=True, session=tx.session)
    if scheduled:
        lower_floor(tx, due=min(scheduled))


@contextmanager
def syncs_together(tx: UnitOfWork) -> Iterator[None]:
    """Within the block, the re-syncs of distinct cases' timers (a group of timer fires) wait for
    its end: then their timers are read together (by_ids) and written in one request.

    Each re-sync read and wrote on its own costs two round-trips, and the store runs a
    transaction's statements one at a time: a group of escalating fires spent most of its time
    waiting for them. Nothing in the block may read those timers back."""
    # Held: (case, ticket, clocks, trace, the names of those clocks that may have timers already).
    with tx.holding(Timer) as held:
        yield
        if held:
            coll = tx.collection(Timer)
            ids = [tid for cid, _, clocks, _, had in held
                   for tid in _ids(complaint_id=cid, clocks={n: c for n, c in clocks.items() if n in had})]
            existing = {d["_id"]: d for d in find_by_ids(coll, ids, session=tx.session)}
            changes: list[Any] = []
            inserts: list[Any] = []
            soonest: list[datetime] = []
            for cid, ticket, clocks, trace, _ in held:
                new, changed, scheduled = _plan(existing=existing, complaint_id=cid, ticket=ticket, clocks=clocks,
                                                trace=trace)
                changes += changed
                inserts += [InsertOne(doc) for doc in new]
                soonest += scheduled
            if changes or inserts:
                # Updates of existing timers, then the new ones: the driver sends a run of one kind as
                # one command, so the group's re-syncs go as one update and one insert.
                coll.bulk_write([*changes, *inserts], ordered=True, session=tx.session)
            if soonest:
                lower_floor(tx, due=min(soonest))


def _ids(*, complaint_id: str, clocks: Mapping[str, Clock]) -> list[str]:
    return [timer_id(complaint_id=complaint_id, clock=name, kind=kind) for name in clocks for kind in KINDS]


def _plan(*, existing: Mapping[str, dict[str, Any]], complaint_id: str, ticket: str, clocks: Mapping[str, Clock],
          trace: dict[str, str]) -> tuple[list[dict[str, Any]], list[UpdateOne], list[datetime]]:
    """What makes the case's stored timers match its clocks: timers to insert, updates, and the
    due times scheduled."""
    inserts: list[dict[str, Any]] = []
    changes: list[UpdateOne] = []
    scheduled: list[datetime] = []
    for name, clock in clocks.items():
        wanted, gen = dict(clock.timers()), generation(clock=clock)
        for kind in KINDS:
            tid = timer_id(complaint_id=complaint_id, clock=name, kind=kind)
            old = existing.get(tid)
            if kind not in wanted:
                if old is not None and old["state"] in {"scheduled", "firing"}:
                    state = "paused" if clock.paused_at is not None else "cancelled"
                    changes.append(UpdateOne({"_id": tid}, {"$set": {"state": state, "lease_token": None}}))
                continue
            due = wanted[kind]
            if old is None:
                scheduled.append(due)
                inserts.append(_scheduled(tid=tid, complaint_id=complaint_id, ticket=ticket, clock=name, kind=kind,
                                          due=due, generation=gen, trace=trace))
            elif old.get("generation") == gen and (
                old["state"] == "fired"
                or old["state"] in {"scheduled", "firing"} and same_instant(old["due_at"], due)):
                continue  # already given for this run of the clock, or already right
            else:
                scheduled.append(due)
                changes.append(UpdateOne({"_id": tid}, {"$set": {
                    "state": "scheduled", "due_at": due, "generation": gen, "owner": None,
                    "lease_token": None, "lease_until": None, "fired_at": None, "fired_by": None,
                    "trace": trace}}))
    return inserts, changes, scheduled


#: Timers due sooner than this are the ones a floor move can step over while their commit is on the way.
SOON = timedelta(minutes=2)


def lower_floor(tx: UnitOfWork, *, due: datetime) -> None:
    """Make sure the due floor is not after due (writes only when it must, to avoid contention)."""
    floors = tx.db[FLOORS]
    # Read once per transaction: a consumer's shared one opens the clocks of a whole poll's cases.
    ahead = (FLOORS, FLOOR_ID)
    if ahead not in tx.read_ahead:
        tx.read_ahead[ahead] = floors.find_one({"_id": FLOOR_ID}, session=tx.session)
    current = tx.read_ahead[ahead]
    if current is None or due < current["due_at"]:
        floors.update_one({"_id": FLOOR_ID}, {"$min": {"due_at": due}}, upsert=True, session=tx.session)
        tx.read_ahead[ahead] = {"_id": FLOOR_ID, "due_at": due}
    if due <= utcnow() + SOON:
        # The floor read above is this transaction's snapshot: a timer loop may move the floor past
        # `due` before these timers commit and become visible to its scan. Once they are visible,
        # lower the floor to the earliest of them again and bump its version, so such a move fails
        # or is undone (claims.claim_due moves the floor only while the version is unchanged).
        soon = (FLOORS, "soon")
        if soon not in tx.read_ahead:

            def bump() -> None:
                floors.update_one({"_id": FLOOR_ID}, {"$min": {"due_at": tx.read_ahead[soon]}, "$inc": {"v": 1}},
                                  upsert=True)

            tx.after_commit.append(bump)
        tx.read_ahead[soon] = min(due, tx.read_ahead.get(soon) or due)


def still_claimed(tx: UnitOfWork, *, timers: Sequence[Mapping[str, Any]]) -> set[str]:
    """The ids of those timers still firing under the lease they were claimed with (by_ids)."""
    tokens = {t["_id"]: t["lease_token"] for t in timers}
    found = find_by_ids(tx.collection(Timer), list(tokens), projection={"state": 1, "lease_token": 1},
                        session=tx.session)
    return {d["_id"] for d in found if d.get("state") == "firing" and d.get("lease_token") == tokens[d["_id"]]}


def mark_all_fired(tx: UnitOfWork, *, outcomes: Sequence[tuple[Mapping[str, Any], bool]], owner: str,
                   at: datetime) -> None:
    """Record claimed timers as fired (live) or cancelled, at once: the case changes that follow
    (a step re-syncing its clocks' timers) must see them fired.

    By id alone, a slice of ids a statement (by_ids): still_claimed read them under their lease in
    this transaction, so a writer that took one since fails the transaction (a write conflict) as a
    lease filter would, and the embedded store plans a filter of more than the id with an index
    search per document. In a transaction an update_many meets a conflict at once rather than
    waiting it out (repository/claims.py)."""
    for state, live in (("fired", True), ("cancelled", False)):
        update_by_ids(tx.collection(Timer), [t["_id"] for t, ok in outcomes if ok is live],
                      {"$set": {"state": state, "fired_at": at, "fired_by": owner}}, session=tx.session)


def _scheduled(*, tid: str, complaint_id: str, ticket: str, clock: str, kind: str, due: datetime,
               generation: str, trace: dict[str, str]) -> dict[str, Any]:
    """A scheduled Timer as stored. Built as it is stored rather than through the document class:
    a case opens with eight, and building, validating and converting each cost the service as much
    as the rest of opening the case."""
    return {"_id": tid, "complaint_id": complaint_id, "ticket": ticket, "clock": clock, "kind": kind,
            "due_at": due, "generation": generation, "state": "scheduled", "trace": trace}


def new_timers(*, complaint_id: str, ticket: str, clocks: Mapping[str, Clock]) -> list[dict[str, Any]]:
    """The timers of a new case's clocks as stored, for bulk creation."""
    return [_scheduled(tid=timer_id(complaint_id=complaint_id, clock=name, kind=kind), complaint_id=complaint_id,
                       ticket=ticket, clock=name, kind=kind, due=at, generation=generation(clock=clock), trace={})
            for name, clock in clocks.items() for kind, at in clock.timers()]
