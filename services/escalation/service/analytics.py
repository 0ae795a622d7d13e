"""Complaint hot spots and SLA figures: aggregation pipelines over the cases' indexed fields."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from services.escalation.domain.states import ACTIVE
from services.escalation.models import Case
from shared.store import database

GROUPS = {"category": "$category", "merchant": "$merchant_id", "product": "$product"}
_ACTIVE = sorted(s.value for s in ACTIVE)


def _cases() -> Any:
    return database()[Case._get_collection_name()]


def _period(*, platform: str, since: datetime, until: datetime, field: str = "opened_at") -> dict:
    return {"platform": platform, field: {"$gte": since, "$lt": until}}


def count_by(*, platform: str, since: datetime, until: datetime, group: str, limit: int) -> list[dict]:
    """Complaints opened in the period, counted by category, merchant or product."""
    rows = _cases().aggregate([
        {"$match": _period(platform=platform, since=since, until=until)},
        {"$group": {"_id": GROUPS[group], "complaints": {"$sum": 1},
                    "open": {"$sum": {"$cond": [{"$in": ["$state", _ACTIVE]}, 1, 0]}}}},
        {"$sort": {"complaints": -1, "_id": 1}}, {"$limit": limit},
    ])
    return [{group: r["_id"], "complaints": r["complaints"], "open": r["open"]} for r in rows]


def sla_attainment(*, platform: str, since: datetime, until: datetime) -> list[dict]:
    """Per clock: how many ended in time, how many breached, and the share met."""
    rows = _cases().aggregate([
        {"$match": _period(platform=platform, since=since, until=until)},
        {"$unwind": "$clocks"},
        {"$group": {
            "_id": "$clocks.name", "started": {"$sum": 1},
            "breached": {"$sum": {"$cond": ["$clocks.breached", 1, 0]}},
            "warned": {"$sum": {"$cond": ["$clocks.warned", 1, 0]}},
            "met": {"$sum": {"$cond": [{"$and": [{"$ne": ["$clocks.clock.stopped_at", None]},
                                                 {"$not": ["$clocks.breached"]}]}, 1, 0]}}}},
        {"$sort": {"_id": 1}},
    ])
    out = []
    for r in rows:
        decided = r["met"] + r["breached"]
        out.append({"clock": r["_id"], "started": r["started"], "met": r["met"], "breached": r["breached"],
                    "warned": r["warned"], "running": r["started"] - decided,
                    "attainment": round(r["met"] / decided, 4) if decided else None})
    return out


def resolution_times(*, platform: str, since: datetime, until: datetime) -> dict[str, Any]:
    """Median and 90th percentile of hours from opening to resolution, for cases resolved in the period."""
    rows = list(_cases().aggregate([
        {"$match": _period(platform=platform, since=since, until=until, field="resolved_at")},
        {"$project": {"ms": {"$subtract": ["$resolved_at", "$opened_at"]}}},
        {"$sort": {"ms": 1}},
    ]))
    hours = [r["ms"] / 3_600_000 for r in rows]
    return {"resolved": len(hours), "median_hours": _quantile(hours, 0.5), "p90_hours": _quantile(hours, 0.9)}


def hot_merchants(*, platform: str, by: str, limit: int) -> list[dict]:
    """Merchants with the most open complaints or the most breached clocks."""
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


def _quantile(sorted_values: list[float], q: float) -> float | None:
    """Linear-interpolated quantile of an already sorted list."""
    if not sorted_values:
        return None
    pos = (len(sorted_values) - 1) * q
    low = int(pos)
    high = min(low + 1, len(sorted_values) - 1)
    return round(sorted_values[low] + (sorted_values[high] - sorted_values[low]) * (pos - low), 3)
