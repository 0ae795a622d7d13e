"""Other services' steps: the step documents, what they show on the complaint, the waits they end."""

from __future__ import annotations

import threading
from typing import Any

from pymongo import UpdateOne

from services.intake.models import Complaint, ComplaintStep, ComplaintWait
from services.intake.repository import slots
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


def create_step(uow: UnitOfWork, *, step: ComplaintStep, shown: dict[str, Any], ends_wait: bool,
                frees_slot: bool) -> bool | None:
    """Store the step once per id and show `shown` (status, tier) on the complaint; False on a repeat.

    `ends_wait` deletes the reconciler's wait for the step's service; `frees_slot` releases the
    complaint's dedup slot too, all in a transaction of its own. In a consumer's group the writes go
    out with the group's, and None is returned.
    """
    pair = (step.complaint_id, step.service)
    # The service's first step ends the reconciler's wait for it; later ones need not say so again.
    deletes_wait = ends_wait and pair not in _HEARD
    complaint_writes = [UpdateOne(*_shown(step, shown))] if shown else []
    wait_ids = [ComplaintWait.key(step.complaint_id, step.service)] if deletes_wait else []

    def heard() -> None:
        # Only once this step's writes ended the wait.
        if ends_wait:
            _HEARD.add(pair)

    def upsert() -> UpdateOne:
        fields = step.to_mongo().to_dict()
        del fields["_id"]  # the upsert takes it from the filter
        # An upsert, not an insert: a redelivered event finds its step and writes nothing, where a
        # duplicate key would undo a shared transaction's whole batch.
        return UpdateOne({"_id": step.id}, {"$setOnInsert": fields}, upsert=True)

    if frees_slot:
        insert = upsert()

        def work(tx: UnitOfWork) -> bool:
            new = tx.collection(ComplaintStep).bulk_write([insert], session=tx.session).upserted_count == 1
            if complaint_writes:
                tx.collection(Complaint).bulk_write(complaint_writes, session=tx.session)
            tx.delete_ids(ComplaintWait, wait_ids)
            slots.free(tx, complaint_id=step.complaint_id)
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
        # The waits' deletes are one statement for the poll (by id, so they wait on nothing): outside
        # a transaction the store commits each statement on its own.
        # The complaints' writes go in one short transaction of their own: one commit for the poll.
        shared.add([step])
        shared.write(Complaint, complaint_writes, together=True)
        shared.delete_ids(ComplaintWait, wait_ids)
        shared.after_commit.append(heard)
        return None
    if shared is not None:
        # Applied with other complaints' steps: the same writes, sent in one bulk write per collection.
        shared.write(ComplaintStep, [upsert()])
        shared.write(Complaint, complaint_writes)
        shared.delete_ids(ComplaintWait, wait_ids)
        shared.after_commit.append(heard)
        return None
    # Each write is atomic on its own and may be repeated: no transaction, so no commit round-trip
    # on the busiest path of the service. A redelivery after a crash between them applies them again.
    db = database()
    new = db[ComplaintStep._get_collection_name()].bulk_write([upsert()]).upserted_count == 1
    if complaint_writes:
        db[Complaint._get_collection_name()].bulk_write(complaint_writes)
    if wait_ids:
        db[ComplaintWait._get_collection_name()].delete_one({"_id": wait_ids[0]})
    heard()
    return new


def _shown(step: ComplaintStep, shown: dict[str, Any]) -> tuple[dict, dict]:
    """The step's write to the complaint (filter, update) showing a status or a tier.

    It is shown unless the complaint is withdrawn or shows a newer status. The update repeats as a
    no-op: `updated_at` only moves forward, to when the step happened.
    """
    shown = dict(shown)
    if "status" in shown:
        shown["status_at"] = step.at
    # "$not $gt" rather than an $or of null and $lte: the embedded store plans no index for a
    # filter with a top-level operator, and would read every complaint for each step.
    current = {"status": {"$ne": "withdrawn"}, "status_at": {"$not": {"$gt": step.at}}}
    return {"_id": step.complaint_id, **current}, {"$set": shown, "$max": {"updated_at": step.at}}


def list_timeline(*, complaint: Complaint, others: bool) -> list[dict[str, Any]]:
    """The complaint's timeline as stored, oldest first: intake's own entries (on the complaint) and,
    unless `others` is False, every other service's steps (documents of their own)."""
    stored = ComplaintStep.objects(complaint_id=complaint.id).as_pymongo() if others else []
    return sorted([*(entry.to_mongo().to_dict() for entry in complaint.timeline), *stored], key=lambda e: e["at"])
