"""The work queue: cases in the caller's scope, filtered, nearest due clock first, one page at a time."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from services.escalation.domain.queue import NO_DEADLINE, QueueCursor
from services.escalation.domain.terms import current_category
from services.escalation.repository import queue
from shared.auth import Principal, Role
from shared.masking import scrub_deep

#: The `assignee` filter's words: no agent yet, or the caller.
UNASSIGNED, ME = "none", "me"


@dataclass(frozen=True)
class QueueFilters:
    """What a queue asks for; None leaves a filter out."""

    state: Sequence[str] | None = None
    tier: str | None = None
    category: str | None = None
    merchant: str | None = None
    assignee: str | None = None
    priority: str | None = None
    breached: bool | None = None
    due_before: datetime | None = None


def scope_of(*, principal: Principal) -> dict[str, Any]:
    """The plain-equality filter of the cases the caller may see (as rules.in_scope decides for one)."""
    scope: dict[str, Any] = {"platform": principal.platform} if principal.platform else {}
    if principal.ticket:
        scope["ticket"] = principal.ticket
    if principal.role is Role.COMPLAINANT:
        scope["complainant_id"] = principal.subject
    elif principal.role is Role.MERCHANT:
        scope["merchant_id"] = principal.merchant_id
    return scope


def list_cases(*, principal: Principal, filters: QueueFilters, after: QueueCursor | None,
               limit: int) -> tuple[list[dict[str, Any]], QueueCursor | None, int]:
    """One page of the caller's queue, the cursor of the next page (None at the end), and the total."""
    match = scope_of(principal=principal)
    if filters.state:
        match["state"] = {"$in": [str(s) for s in filters.state]}
    for field, value in (("tier", filters.tier), ("category", filters.category),
                         ("merchant_id", filters.merchant), ("priority", filters.priority)):
        if value is not None:
            match[field] = str(value)
    if filters.assignee is not None:
        match["assigned_agent"] = None if filters.assignee == UNASSIGNED else (
            principal.subject if filters.assignee == ME else filters.assignee)
    if filters.breached is not None:
        match["breach_any"] = filters.breached
    rows, total = queue.list_cases(match=_stored(match), due_before=filters.due_before, after=after, limit=limit)
    following = None
    if len(rows) > limit:
        last = rows[limit - 1]
        following = QueueCursor(due_at=_aware(last.get("next_due_at")), complaint_id=last["_id"])
    return [_row(r) for r in rows[:limit]], following, total


def _stored(match: dict[str, Any]) -> dict[str, Any]:
    """The filters as the store spells them (a breached case has a breached clock)."""
    out = dict(match)
    breached = out.pop("breach_any", None)
    if breached is True:
        out["breached_clocks.0"] = {"$exists": True}
    elif breached is False:
        out["breached_clocks.0"] = {"$exists": False}
    return out


def _aware(at: datetime | None) -> datetime:
    if at is None:
        return datetime.min.replace(tzinfo=UTC)
    return at if at.tzinfo else at.replace(tzinfo=UTC)


def _row(doc: dict[str, Any]) -> dict[str, Any]:
    due = doc.get("next_due_at")
    due = _aware(due) if due is not None else None
    return scrub_deep({
        "ticket": doc["ticket"], "complaint_id": doc["_id"], "state": doc["state"], "tier": doc["tier"],
        "category": current_category(doc["category"]), "priority": doc["priority"],
        "merchant_id": doc["merchant_id"], "product": doc.get("product", ""), "amount": doc.get("amount"),
        "assigned_agent": doc.get("assigned_agent"), "opened_at": _aware(doc.get("opened_at")),
        "next_due_at": None if due is None or due >= NO_DEADLINE else due,
        "breached_clocks": list(doc.get("breached_clocks", [])),
    })
