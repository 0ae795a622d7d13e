"""Folding other services' steps into the complaint's timeline and status."""

from __future__ import annotations

import threading
from typing import Any

from pymongo import UpdateOne

from services.intake.models import Complaint, ComplaintStep
from services.intake.service import slots
from services.intake.domain.status import FINISHED
from shared.envelope import Event
from shared.store import Tx, database, shared_tx, transaction


class _Heard:
    """The (complaint, service) pairs whose first step this process has written, the newest `size`.

    A later step of the same service then leaves the complaint alone, rather than sending a write
    that matches nothing: the embedded store spends as long matching one as on writing a step.
    Forgotten at a restart or once evicted, a pair costs that write once more.
    """

    def __init__(self, size: int) -> None:
        self._pairs: dict[tuple[str, str], None] = {}
        self._size = size
        self._lock = threading.Lock()

    def __contains__(self, pair: tuple[str, str]) -> bool:
        return pair in self._pairs

    def add(self, pair: tuple[str, str]) -> None:
        with self._lock:
            self._pairs[pair] = None
            if len(self._pairs) > self._size:
                del self._pairs[next(iter(self._pairs))]


_HEARD = _Heard(50_000)


def record_step(
    *, event: Event, service: str, step: str, detail: dict[str, Any] | None = None,
    status: str | None = None, tier: str | None = None, changes_complaint: bool = True,
) -> bool | None:
    """Put another service's step on the complaint's timeline once per event id; False on a repeat.

    The step is a document of its own; the complaint changes only when the step changes what it
    shows (status, tier) or is the service's first (see `_changes`). A withdrawn complaint stays
    withdrawn whatever arrives later, and a status change older than the one shown (a relay killed
    mid-batch holds its entries for a lease while the case moves on) is recorded without moving the
    status back; a finished one frees its dedup slot. A step that always comes with another which
    changes the complaint passes `changes_complaint=False`. In a consumer's shared transaction the
    writes go out with the batch's, and None is returned.
    """
    record = ComplaintStep(id=event.event_id, complaint_id=event.complaint_id, at=event.occurred_at,
                           service=service, step=step, detail=detail or {})
    complaint_id = event.complaint_id
    pair = (complaint_id, service)
    shown, pull = _changes(event=event, service=service, status=status, tier=tier,
                           heard=pair in _HEARD) if changes_complaint else (None, False)
    pull_write = ({"_id": complaint_id, "awaiting": service}, {"$pull": {"awaiting": service}})

    def heard() -> None:
        # Only once this step's writes took the service off `awaiting`.
        if changes_complaint:
            _HEARD.add(pair)

    def complaint_writes() -> list[UpdateOne]:
        return [UpdateOne(where, update) for where, update in [*([shown] if shown else []),
                                                               *([pull_write] if pull else [])]]

    def upsert_and_changes() -> tuple[UpdateOne, list[UpdateOne]]:
        fields = record.to_mongo().to_dict()
        del fields["_id"]  # the upsert takes it from the filter
        # An upsert, not an insert: a redelivered event finds its step and writes nothing, where a
        # duplicate key would undo a shared transaction's whole batch.
        return UpdateOne({"_id": record.id}, {"$setOnInsert": fields}, upsert=True), complaint_writes()

    if status in FINISHED:
        insert, changes = upsert_and_changes()

        def work(tx: Tx) -> bool:
            new = tx.collection(ComplaintStep).bulk_write([insert], session=tx.session).upserted_count == 1
            if changes:
                tx.collection(Complaint).bulk_write(changes, ordered=True, session=tx.session)
            slots.free(tx, complaint_id=event.complaint_id)
            tx.after_commit.append(heard)
            return new

        return transaction(work)
    shared = shared_tx()
    if shared is not None and shared.session is None:
        # Applied with other complaints' steps, in a batch that is not atomic: the steps go out in
        # one insert that skips the ones already there, the complaints' writes in one bulk write.
        # Each complaint's write stays an update of its own: the embedded store holds a
        # collection's lock while an update_many waits out a write conflict, and a transaction
        # holding one of its complaints (a finished one freeing its slot) then waits for that lock
        # for ever (seen in a chaos run: its one update_many of `awaiting` pulls retried 840 s).
        shared.defer_repeatable([record])
        shared.defer_writes(Complaint, complaint_writes())
        shared.after_commit.append(heard)
        return None
    insert, changes = upsert_and_changes()
    if shared is not None:
        # Applied with other complaints' steps: the same writes, sent in one bulk write per collection.
        shared.defer_writes(ComplaintStep, [insert])
        shared.defer_writes(Complaint, changes)
        shared.after_commit.append(heard)
        return None
    # Each write is atomic on its own and may be repeated: no transaction, so no commit round-trip
    # on the busiest path of the service. A redelivery after a crash between them applies both again.
    db = database()
    new = db[ComplaintStep._get_collection_name()].bulk_write([insert]).upserted_count == 1
    if changes:
        db[Complaint._get_collection_name()].bulk_write(changes, ordered=True)
    heard()
    return new


def _changes(*, event: Event, service: str, status: str | None, tier: str | None,
             heard: bool) -> tuple[tuple[dict, dict] | None, bool]:
    """The step's write to the complaint (filter, update), if it shows something, and whether the
    service must also be taken off `awaiting` (the reconciler's list of who has not acted yet) by a
    write of its own, applied after it.

    A status or tier is shown unless the complaint is withdrawn or shows a newer status; that write
    also takes the service off `awaiting`. The write of its own does that alone, unless this process
    has `heard` from the service about the complaint before; it matches nothing once done, so later
    steps leave the document as it is. Every update repeats as a no-op: `updated_at` only moves
    forward, to when the step happened.
    """
    complaint = event.complaint_id
    shown = {name: value for name, value in (("status", status), ("tier", tier)) if value is not None}
    write = None
    if shown:
        if status is not None:
            shown["status_at"] = event.occurred_at
        # "$not $gt" rather than an $or of null and $lte: the embedded store plans no index for a
        # filter with a top-level operator, and would read every complaint for each step.
        current = {"status": {"$ne": "withdrawn"}, "status_at": {"$not": {"$gt": event.occurred_at}}}
        write = ({"_id": complaint, **current},
                 {"$set": shown, "$max": {"updated_at": event.occurred_at}, "$pull": {"awaiting": service}})
    return write, not heard


def steps_of(complaint: Complaint, *, others: bool = True) -> list[dict[str, Any]]:
    """The complaint's timeline, oldest first: intake's own steps and, unless `others` is False (a
    complaint just filed has none), every other service's, read from the store."""
    stored = ComplaintStep.objects(complaint_id=complaint.id).as_pymongo() if others else []
    return sorted([*(entry.to_mongo().to_dict() for entry in complaint.timeline), *stored], key=lambda e: e["at"])
