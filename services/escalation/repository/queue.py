"""The work queue in the store: a page of cases matching plain filters, nearest due clock first.

Store notes: every case carries `next_due_at` (written with its clocks by cases.py; a case with no
running handling-side clock gets a far-future sentinel so it sorts last). Cases stored before the
field existed have none and sort first until their next step writes it. The (platform,
next_due_at) index serves the platform's queue. As in intake's listing, the cursor bound is one
plain range on the sort key, no $or (the embedded store plans no index for a top-level operator):
rows at the cursor's instant up to its id are counted and dropped here."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from services.escalation.domain.queue import QueueCursor
from services.escalation.models import Case
from shared.store import database


def _cases() -> Any:
    return database()[Case._get_collection_name()]


def list_cases(*, match: dict[str, Any], due_before: datetime | None, after: QueueCursor | None,
               limit: int) -> tuple[list[dict[str, Any]], int]:
    """Up to `limit` + 1 cases equal to `match`, due before `due_before`, after the cursor in the
    order nearest due first (next_due_at, then id); and how many match in all."""
    query: dict[str, Any] = dict(match)
    window: dict[str, datetime] = {}
    if due_before is not None:
        window["$lt"] = due_before
    total = _cases().count_documents({**query, **({"next_due_at": dict(window)} if window else {})})
    extra = 0
    if after is not None:
        window["$gte"] = after.due_at
        extra = _cases().count_documents({**query, "next_due_at": after.due_at,
                                          "_id": {"$lte": after.complaint_id}})
    if window:
        query["next_due_at"] = window
    rows = list(_cases().find(query).sort([("next_due_at", 1), ("_id", 1)]).limit(limit + 1 + extra))
    if after is not None:
        rows = [r for r in rows if not _served(r, after)]
    return rows[: limit + 1], total


def _served(row: dict[str, Any], cursor: QueueCursor) -> bool:
    due = row.get("next_due_at")
    return due is not None and due.replace(tzinfo=None) == cursor.due_at.replace(tzinfo=None) \
        and row["_id"] <= cursor.complaint_id
