"""Complaint documents: read one by ticket or a page of them, and change one only while it is open."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from services.intake.domain.cursor import Cursor
from services.intake.domain.status import FINISHED
from services.intake.models import Complaint, TimelineEntry
from shared.store import UnitOfWork


def as_stored(*, at: datetime) -> datetime:
    """The instant as the store keeps it (to the millisecond): what a filed complaint reads back."""
    return at.replace(microsecond=at.microsecond // 1000 * 1000)


def get_complaint(*, ticket: str) -> Complaint | None:
    """The complaint with this ticket number, or None."""
    return Complaint.objects(ticket=ticket).first()


def get_complaint_by_id(*, complaint_id: str) -> Complaint:
    """The complaint with this id, which must exist (DoesNotExist otherwise)."""
    return Complaint.objects(id=complaint_id).get()


def list_complaints(*, match: dict[str, Any], filed_from: datetime | None, filed_to: datetime | None,
                    after: Cursor | None, limit: int) -> list[Complaint]:
    """Up to `limit` + 1 complaints equal to `match` on its fields, filed in [filed_from, filed_to),
    below the cursor `after` in the order newest first (filed_at, then id)."""
    query: dict[str, Any] = dict(match)
    window: dict[str, datetime] = {}
    if filed_from is not None:
        window["$gte"] = filed_from
    if filed_to is not None:
        window["$lt"] = filed_to
    # One plain filter, no $and/$or: the embedded store plans no index for a top-level operator and
    # would read every complaint for each page. The cursor's (filed_at, id) bound is therefore kept
    # as filed_at <= its instant, and the rows at that instant from its id up, which come first in
    # this order, are counted and dropped here.
    extra = 0
    if after is not None:
        window["$lte"] = after.filed_at
        extra = Complaint.objects(__raw__={**query, "filed_at": after.filed_at,
                                           "_id": {"$gte": after.complaint_id}}).count()
    if window:
        query["filed_at"] = window
    rows = Complaint.objects(__raw__=query).order_by("-filed_at", "-id").limit(limit + 1 + extra)
    return [c for c in rows if after is None or not _at_or_above(c, after)][: limit + 1]


def _at_or_above(complaint: Complaint, cursor: Cursor) -> bool:
    """Whether the complaint is at the cursor's instant and not below its id (already served)."""
    return complaint.filed_at == cursor.filed_at and complaint.id >= cursor.complaint_id


def _update_open(tx: UnitOfWork, *, complaint_id: str, entry: TimelineEntry, guard: dict[str, Any],
                 changes: dict[str, Any]) -> bool:
    """Apply `changes` and the timeline entry if the complaint is open and matches `guard`; whether it did."""
    changes.setdefault("$set", {})["updated_at"] = entry.at
    changes.setdefault("$push", {})["timeline"] = entry.to_mongo().to_dict()
    result = tx.collection(Complaint).update_one(
        {"_id": complaint_id, "status": {"$nin": list(FINISHED)}, **guard}, changes, session=tx.session)
    return result.modified_count == 1


def add_statement(tx: UnitOfWork, *, complaint_id: str, statement: dict[str, Any], entry: TimelineEntry) -> bool:
    """Append the statement numbered `statement["number"]`; False when finished or that number is taken."""
    # The size guard makes two concurrent statements take different numbers (one retries).
    return _update_open(tx, complaint_id=complaint_id, entry=entry,
                        guard={"statements": {"$size": statement["number"] - 1}},
                        changes={"$push": {"statements": statement}})


def update_withdrawn(tx: UnitOfWork, *, complaint_id: str, withdrawal: dict[str, Any], entry: TimelineEntry) -> bool:
    """Mark the complaint withdrawn with the withdrawal's record; False when already finished."""
    return _update_open(tx, complaint_id=complaint_id, entry=entry, guard={},
                        changes={"$set": {"status": "withdrawn", "withdrawal": withdrawal}})


def update_category(tx: UnitOfWork, *, complaint_id: str, old: str, fields: dict[str, Any],
                    entry: TimelineEntry) -> bool:
    """Set the category's fields if the category is still `old`; False when finished or changed under us."""
    return _update_open(tx, complaint_id=complaint_id, entry=entry, guard={"category": old},
                        changes={"$set": dict(fields)})
