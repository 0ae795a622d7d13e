"""Folding other services' steps into the complaint's timeline and status."""

from __future__ import annotations

import threading
from typing import Any

from pymongo import DeleteOne, UpdateOne

from services.intake.models import Complaint, ComplaintStep, ComplaintWait
from services.intake.service import slots
from services.intake.domain.status import FINISHED
from shared.envelope import Event
from shared.store import UnitOfWork, database


class _Heard:
    """The (complaint, service) pairs whose first step this process has written, the newest `size`.

    A later step of the same service then sends no delete of the service's wait (see ComplaintWait),
    which would match nothing. Forgotten at a restart or once evicted, a pair costs that delete once more.
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
    uow: UnitOfWork, *, event: Event, service: str, step: str, detail: dict[str, Any] | None = None,
    status: str | None = None, tier: str | None = None, changes_complaint: bool = True,
) -> bool | None:
    """Put another service's step on the complaint's timeline once per event id; False on a repeat.

    The step is a document of its own; the complaint changes only when the step changes what it
    shows (status, tier, see `_shown`), and the service's first step ends the reconciler's wait for
    it (a ComplaintWait deleted). A withdrawn complaint stays
    withdrawn whatever arrives later, and a status change older than the one shown (a relay killed
    mid-batch holds its entries for a lease while the case moves on) is recorded without moving the
    status back; a finished one frees its dedup slot. A step that always comes with another which
    changes the complaint passes `changes_complaint=False`. In a consumer's group the writes go
    out with the group's, and None is returned.
    """
    record = ComplaintStep(id=event.event_id, complaint_id=event.complaint_id, at=event.occurred_at,
                           service=service, step=step, detail=detail or {})
    complaint_id = event.complaint_id
    pair = (complaint_id, service)
    shown = _shown(event=event, status=status, tier=tier) if changes_complaint else None
    # The service's first step ends the reconciler's wait for it; later ones need not say so again.
    ends_wait = changes_complaint and pair not in _HEARD
    complaint_writes = [UpdateOne(*shown)] if shown else []
    wait_writes = [DeleteOne({"_id": ComplaintWait.key(complaint_id, service)})] if ends_wait else []

    def heard() -> None:
        # Only once this step's writes ended the wait.
        if changes_complaint:
            _HEARD.add(pair)

    def upsert() -> UpdateOne:
        fields = record.to_mongo().to_dict()
        del fields["_id"]  # the upsert takes it from the filter
        # An upsert, not an insert: a redelivered event finds its step and writes nothing, where a
        # duplicate key would undo a shared transaction's whole batch.
        return UpdateOne({"_id": record.id}, {"$setOnInsert": fields}, upsert=True)

    if status in FINISHED:
        insert = upsert()

        def work(tx: UnitOfWork) -> bool:
            new = tx.collection(ComplaintStep).bulk_write([insert], session=tx.session).upserted_count == 1
            if complaint_writes:
                tx.collection(Complaint).bulk_write(complaint_writes, session=tx.session)
            if wait_writes:
                tx.collection(ComplaintWait).bulk_write(wait_writes, session=tx.session)
            slots.free(tx, complaint_id=event.complaint_id)
            tx.after_commit.append(heard)
            return new

        return uow.transaction(work)
    shared = uow if uow.grouped else None
    if shared is not None and not shared.atomic:
        # Applied with other complaints' steps, in a batch that is not atomic: the steps go out in
        # one insert that skips the ones already there, the other writes in one bulk write per
        # collection. Each stays a write of its own document: the embedded store holds a
        # collection's lock while an update_many waits out a write conflict, and a transaction
        # holding one of its documents (a finished complaint freeing its slot) then waits for that
        # lock for ever (seen in a chaos run: one update_many of the complaints retried 840 s).
        shared.add([record])
        shared.write(Complaint, complaint_writes)
        shared.write(ComplaintWait, wait_writes)
        shared.after_commit.append(heard)
        return None
    if shared is not None:
        # Applied with other complaints' steps: the same writes, sent in one bulk write per collection.
        shared.write(ComplaintStep, [upsert()])
        shared.write(Complaint, complaint_writes)
        shared.write(ComplaintWait, wait_writes)
        shared.after_commit.append(heard)
        return None
    # Each write is atomic on its own and may be repeated: no transaction, so no commit round-trip
    # on the busiest path of the service. A redelivery after a crash between them applies them again.
    db = database()
    new = db[ComplaintStep._get_collection_name()].bulk_write([upsert()]).upserted_count == 1
    if complaint_writes:
        db[Complaint._get_collection_name()].bulk_write(complaint_writes)
    if wait_writes:
        db[ComplaintWait._get_collection_name()].bulk_write(wait_writes)
    heard()
    return new


def _shown(*, event: Event, status: str | None, tier: str | None) -> tuple[dict, dict] | None:
    """The step's write to the complaint (filter, update), if it shows a status or a tier.

    It is shown unless the complaint is withdrawn or shows a newer status. The update repeats as a
    no-op: `updated_at` only moves forward, to when the step happened.
    """
    shown = {name: value for name, value in (("status", status), ("tier", tier)) if value is not None}
    if not shown:
        return None
    if status is not None:
        shown["status_at"] = event.occurred_at
    # "$not $gt" rather than an $or of null and $lte: the embedded store plans no index for a
    # filter with a top-level operator, and would read every complaint for each step.
    current = {"status": {"$ne": "withdrawn"}, "status_at": {"$not": {"$gt": event.occurred_at}}}
    return {"_id": event.complaint_id, **current}, {"$set": shown, "$max": {"updated_at": event.occurred_at}}


def steps_of(complaint: Complaint, *, others: bool = True) -> list[dict[str, Any]]:
    """The complaint's timeline, oldest first: intake's own steps and, unless `others` is False (a
    complaint just filed has none), every other service's, read from the store."""
    stored = ComplaintStep.objects(complaint_id=complaint.id).as_pymongo() if others else []
    return sorted([*(entry.to_mongo().to_dict() for entry in complaint.timeline), *stored], key=lambda e: e["at"])
