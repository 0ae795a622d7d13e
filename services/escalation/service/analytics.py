"""Complaint hot spots and SLA figures for platform staff, from the cases of a period."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from services.escalation.repository import analytics as figures


def count_by(*, platform: str, since: datetime, until: datetime, group: str, limit: int) -> list[dict]:
    """Complaints opened in the period, counted by category, merchant or product."""
    return figures.list_counts(platform=platform, since=since, until=until, group=group, limit=limit)


def sla_attainment(*, platform: str, since: datetime, until: datetime) -> list[dict]:
    """Per clock: how many ended in time, how many breached, and the share met."""
    out = []
    for r in figures.list_clock_figures(platform=platform, since=since, until=until):
        decided = r["met"] + r["breached"]
        out.append({"clock": r["_id"], "started": r["started"], "met": r["met"], "breached": r["breached"],
                    "warned": r["warned"], "running": r["started"] - decided,
                    "attainment": round(r["met"] / decided, 4) if decided else None})
    return out


def resolution_times(*, platform: str, since: datetime, until: datetime) -> dict[str, Any]:
    """Median and 90th percentile of hours from opening to resolution, for cases resolved in the period."""
    hours = figures.list_resolution_hours(platform=platform, since=since, until=until)
    return {"resolved": len(hours), "median_hours": _quantile(hours, 0.5), "p90_hours": _quantile(hours, 0.9)}


def hot_merchants(*, platform: str, by: str, limit: int) -> list[dict]:
    """Merchants with the most open complaints or the most breached clocks."""
    return figures.list_merchant_figures(platform=platform, by=by, limit=limit)


def _quantile(sorted_values: list[float], q: float) -> float | None:
    """Linear-interpolated quantile of an already sorted list."""
    if not sorted_values:
        return None
    pos = (len(sorted_values) - 1) * q
    low = int(pos)
    high = min(low + 1, len(sorted_values) - 1)
    return round(sorted_values[low] + (sorted_values[high] - sorted_values[low]) * (pos - low), 3)
