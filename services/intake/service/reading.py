"""Reading complaints: one by ticket, or a filtered page in a caller's scope, newest first."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from services.intake import repository
from services.intake.domain.cursor import Cursor
from services.intake.models import Complaint


def get_complaint(*, ticket: str) -> Complaint | None:
    """The complaint with this ticket number, or None."""
    return repository.complaints.get_complaint(ticket=ticket)


def list_complaints(
    *, scope: dict[str, str], filters: dict[str, str], filed_from: datetime | None = None,
    filed_to: datetime | None = None, after: Cursor | None = None, limit: int,
) -> tuple[list[Complaint], Cursor | None]:
    """One page of complaints matching plain-equality filters inside `scope`, and the next cursor."""
    match: dict[str, Any] = dict(scope)
    for field, value in filters.items():
        if field in match and match[field] != value:
            return [], None  # asks for something outside the caller's scope
        match[field] = value
    found = repository.complaints.list_complaints(match=match, filed_from=filed_from, filed_to=filed_to,
                                                  after=after, limit=limit)
    page = found[:limit]
    more = len(found) > limit
    return page, Cursor(filed_at=page[-1].filed_at, complaint_id=page[-1].id) if more and page else None
