"""Aggregation pipelines over the cases' indexed fields: counts, clock figures, resolution times."""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from typing import Any

from services.escalation.domain.states import ACTIVE
from services.escalation.domain.terms import current_category
from services.escalation.models import Case
from shared.store import database

GROUPS = {"category": "$category", "merchant": "$merchant_id", "product": "$product"}
_ACTIVE = sorted(s.value for s in ACTIVE)


def _cases() -> Any:
    return database()[Case._get_collection_name()]


def _period(*, platform: str, since: datetime, until: datetime, field: str = "opened_at") -> dict:
    return {"platform": platform, field: {"$gte": since, "$lt": until}}


def list_counts(*, platform: str, since: datetime, until: datetime, group: str, limit: int) -> list[dict]:
    """Complaints opened in the period and how many are open, by category, merchant or product, most first."""
    pipeline: list[dict[str, Any]] = [
        {"$match": _period(platform=platform, since=since, until=until)},
        {"$group": {"_id": GROUPS[group], "complaints": {"$sum": 1},
                    "open": {"$sum": {"$cond": [{"$in": ["$state", _ACTIVE]}, 1, 0]}}}},
        {"$sort": {"complaints": -1, "_id": 1}}, {"$limit": limit},
    ]
    if group != "category":
        return [{group: r["_id"], "complaints": r["complaints"], "open": r["open"]}
                for r in _cases().aggregate(pipeline)]
    # Cases stored before escalation took the shared spelling carry "invalid_card_key" and the
    # like: both spellings count as one category, merged here (ten categories, so twenty groups at most).
    complaints: Counter[str | None] = Counter()
    opened: Counter[str | None] = Counter()
    for r in _cases().aggregate(pipeline[:2]):
        name = current_category(r["_id"]) if isinstance(r["_id"], str) else r["_id"]
        complaints[name] += r["complaints"]
        opened[name] += r["open"]
    ranked = sorted(complaints, key=lambda name: (-complaints[name], name is not None, name or ""))[:limit]
    return [{group: name, "complaints": complaints[name], "open": opened[name]} for name in ranked]


def list_clock_figures(*, platform: str, since: datetime, until: datetime) -> list[dict]:
    """Per clock of the cases opened in the period, by name: how many started, met, breached, warned."""
    return list(_cases().aggregate([
        {"$match": _period(platform=platform, since=since, until=until)},
        {"$unwind": "$clocks"},
        {"$group": {
            "_id": "$clocks.name", "started": {"$sum": 1},
            "breached": {"$sum": {"$cond": ["$clocks.breached", 1, 0]}},
            "warned": {"$sum": {"$cond": ["$clocks.warned", 1, 0]}},
            "met": {"$sum": {"$cond": [{"$and": [{"$ne": ["$clocks.clock.stopped_at", None]},
                                                 {"$not": ["$clocks.breached"]}]}, 1, 0]}}}},
        {"$sort": {"_id": 1}},
    ]))


def list_resolution_hours(*, platform: str, since: datetime, until: datetime) -> list[float]:
    """Hours from opening to resolution of the cases resolved in the period, shortest first."""
    rows = _cases().aggregate([
        {"$match": _period(platform=platform, since=since, until=until, field="resolved_at")},
        {"$project": {"ms": {"$subtract": ["$resolved_at", "$opened_at"]}}},
        {"$sort": {"ms": 1}},
    ])
    return [r["ms"] / 3_600_000 for r in rows]


def list_merchant_figures(*, platform: str, by: str, limit: int) -> list[dict]:
    """Merchants with the most open complaints (by "open") or the most breached clocks."""
    rows = _cases().aggregate([
        {"$match": {"platform": platform}},
        {"$group": {"_id": "$merchant_id",
                    "open": {"$sum": {"$cond": [{"$in": ["$state", _ACTIVE]}, 1, 0]}},
                    "breached_complaints": {"$sum": {"$cond": [{"$gt": ["$breach_count", 0]}, 1, 0]}},
                    "breached_clocks": {"$sum": "$breach_count"}, "complaints": {"$sum": 1}}},
        {"$sort": {"open" if by == "open" else "breached_clocks": -1, "_id": 1}}, {"$limit": limit},
    ])
    return [{"merchant_id": r["_id"], "open": r["open"], "complaints": r["complaints"],
             "breached_complaints": r["breached_complaints"], "breached_clocks": r["breached_clocks"]}
            for r in rows]
