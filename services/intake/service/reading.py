"""Reading complaints: one by ticket, or a filtered page in a caller's scope, newest first."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from services.intake.domain.cursor import Cursor
from services.intake.models import Complaint


def get_complaint(*, ticket: str) -> Complaint | None:
    """The complaint with this ticket number, or None."""
    return Complaint.objects(ticket=ticket).first()


def list_complaints(
    *, scope: dict[str, str], filters: dict[str, str], filed_from: datetime | None = None,
    filed_to: datetime | None = None, after: Cursor | None = None, limit: int,
) -> tuple[list[Complaint], Cursor | None]:
    """One page of complaints matching plain-equality filters inside `scope`, and the next cursor."""
    query: dict[str, Any] = dict(scope)
    for field, value in filters.items():
        if field in query and query[field] != value:
            return [], None  # asks for something outside the caller's scope
        query[field] = value
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
    found = [c for c in rows if after is None or not _at_or_above(c, after)][: limit + 1]
    page = found[:limit]
    more = len(found) > limit
    return page, Cursor(filed_at=page[-1].filed_at, complaint_id=page[-1].id) if more and page else None


def _at_or_above(complaint: Complaint, cursor: Cursor) -> bool:
    """Whether the complaint is at the cursor's instant and not below its id (already served)."""
    return complaint.filed_at == cursor.filed_at and complaint.id >= cursor.complaint_id
