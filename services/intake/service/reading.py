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
    clauses: list[dict[str, Any]] = [query]
    if window:
        clauses.append({"filed_at": window})
    if after is not None:
        clauses.append({"$or": [{"filed_at": {"$lt": after.filed_at}},
                                {"filed_at": after.filed_at, "_id": {"$lt": after.complaint_id}}]})
    found = list(Complaint.objects(__raw__={"$and": clauses}).order_by("-filed_at", "-id").limit(limit + 1))
    page = found[:limit]
    more = len(found) > limit
    return page, Cursor(filed_at=page[-1].filed_at, complaint_id=page[-1].id) if more and page else None
