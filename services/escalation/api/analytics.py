"""Analytics routes for platform staff: hot spots, SLA attainment and resolution times."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from fastapi import APIRouter, HTTPException, Query

from services.escalation.service import analytics
from shared.auth import Principal, Role
from shared.http_auth import CurrentPrincipal
from shared.openapi import field_refusal

router = APIRouter(prefix="/v1/analytics", tags=["analytics"])
_STAFF = {Role.AGENT, Role.PARTNER}


def _platform(principal: Principal) -> str:
    if principal.role not in _STAFF or not principal.platform:
        raise HTTPException(status_code=403, detail={
            "message": "analytics are for the platform's agents and integrations",
            "message_zh": "统计数据仅对平台客服和平台接入方开放"})
    return principal.platform


def _window(since: datetime | None, until: datetime | None) -> tuple[datetime, datetime]:
    until = (until or datetime.now(UTC)).astimezone(UTC)
    since = (since or until - timedelta(days=30)).astimezone(UTC)
    if since >= until:
        raise field_refusal(field="since", rule="before_until", en="since must be before until",
                            zh="since 必须早于 until")
    return since, until


@router.get("/complaints", summary="Complaints opened in a period by category, merchant or product")
def complaints(principal: CurrentPrincipal, group_by: Literal["category", "merchant", "product"] = "category",
               since: datetime | None = None, until: datetime | None = None,
               limit: int = Query(20, ge=1, le=500)) -> dict[str, Any]:
    platform, (start, end) = _platform(principal), _window(since, until)
    rows = analytics.count_by(platform=platform, since=start, until=end, group=group_by, limit=limit)
    return {"since": start, "until": end, "group_by": group_by, "items": rows}


@router.get("/sla", summary="SLA attainment per clock for cases opened in a period")
def sla(principal: CurrentPrincipal, since: datetime | None = None,
        until: datetime | None = None) -> dict[str, Any]:
    platform, (start, end) = _platform(principal), _window(since, until)
    return {"since": start, "until": end,
            "clocks": analytics.sla_attainment(platform=platform, since=start, until=end)}


@router.get("/resolution-time", summary="Median and p90 hours to resolution for cases resolved in a period")
def resolution_time(principal: CurrentPrincipal, since: datetime | None = None,
                    until: datetime | None = None) -> dict[str, Any]:
    platform, (start, end) = _platform(principal), _window(since, until)
    return {"since": start, "until": end,
            **analytics.resolution_times(platform=platform, since=start, until=end)}


@router.get("/hot-merchants", summary="Merchants with the most open complaints or breached clocks")
def hot_merchants(principal: CurrentPrincipal, by: Literal["open", "breached"] = "open",
                  limit: int = Query(10, ge=1, le=100)) -> dict[str, Any]:
    platform = _platform(principal)
    return {"by": by, "items": analytics.hot_merchants(platform=platform, by=by, limit=limit)}
