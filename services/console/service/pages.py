"""What the agent's pages show: queues with counts, a case with everything about it, analytics."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

from services.console.adapters.apis import ApiError, Apis
from services.console.domain import charts, queues
from services.console.domain.actions import TIERS, agent_actions
from services.console.domain.i18n import CLOCKS, UI, say

COUNT_CALLS = 4  # queue counts asked at once


def queue_page(apis: Apis, *, token: str, name: str, breaching_hours: float,
               cursor: str | None = None) -> dict[str, Any]:
    """Every queue's count and the chosen queue's first page."""
    names = (*queues.NAMES, *(f"tier:{t}" for t in ("automatic", *TIERS)))

    def total(queue: str) -> int:
        params = queues.queue_filters(name=queue, breaching_hours=breaching_hours)
        return int(apis.queue(token=token, limit=1, **params)["total"])

    # The counts are independent reads: a few at a time, not one after another.
    with ThreadPoolExecutor(max_workers=COUNT_CALLS) as pool:
        counted = pool.map(total, names)
        params = queues.queue_filters(name=name, breaching_hours=breaching_hours)
        page = apis.queue(token=token, limit=50, **params, **({"cursor": cursor} if cursor else {}))
        counts = dict(zip(names, counted, strict=True))
    return {"counts": counts, "items": page["items"], "next_cursor": page["next_cursor"], "queue": name}


def _optional(call: Any, **kwargs: Any) -> Any:
    """A part of the page the caller may not see, or that is not there yet: None instead."""
    try:
        return call(**kwargs)
    except ApiError as exc:
        if exc.status >= 500:
            raise
        return None


def case_page(apis: Apis, *, token: str, ticket: str, me: str, supervisor: bool,
              acts: bool = True) -> dict[str, Any]:
    """The case, its complaint, evidence (verified and assessed), allowed actions (for those who act
    on cases: agents and partners; a merchant reads) and trace."""
    case = apis.case(token=token, ticket=ticket)
    complaint = _optional(apis.complaint, token=token, ticket=ticket)
    evidence = _optional(apis.evidence, token=token, ticket=ticket) or {"items": []}
    verdicts = _optional(apis.verification, token=token, ticket=ticket) or {}
    status = {v.get("evidence_id"): v.get("status") for v in verdicts.get("items", [])}
    for item in evidence.get("items", []):
        item["verified"] = status.get(item.get("evidence_id"))
    return {"case": case, "complaint": complaint, "evidence": evidence,
            "assessment": _optional(apis.assessment, token=token, ticket=ticket),
            "offered": agent_actions(case=case, me=me) if acts else [],
            "trace": waterfall(_optional(apis.trace, token=token, ticket=ticket)) if supervisor else None}


def waterfall(trace: dict[str, Any] | None) -> dict[str, Any] | None:
    """The trace's spans as bars on one time axis (percent offsets and widths), in start order."""
    if not trace or not trace.get("spans"):
        return None
    spans = []
    for s in trace["spans"]:
        start, end = _at(s.get("start")), _at(s.get("end"))
        if start is not None:
            spans.append((start, end or start, s))
    spans.sort(key=lambda x: x[0])
    first, last = spans[0][0], max(e for _, e, _ in spans)
    total = max((last - first).total_seconds(), 0.001)
    rows = [{"service": s.get("service", ""), "name": s.get("name", ""),
             "offset": round((b - first).total_seconds() / total * 100, 2),
             "width": max(round((e - b).total_seconds() / total * 100, 2), 0.4),
             "ms": round((e - b).total_seconds() * 1000, 1)} for b, e, s in spans]
    return {"trace_id": trace.get("trace_id"), "services": trace.get("services", []), "rows": rows,
            "total_ms": round(total * 1000, 1)}


def _at(value: Any) -> datetime | None:
    if not value:
        return None
    at = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    return at if at.tzinfo else at.replace(tzinfo=UTC)


def analytics_page(apis: Apis, *, token: str, lang: str) -> dict[str, Any]:
    """The hot merchants, SLA attainment per clock and time to resolution, as charts."""
    since = (datetime.now(UTC) - timedelta(days=30)).isoformat()
    hot = apis.analytics(token=token, what="hot-merchants")["items"]
    sla = apis.analytics(token=token, what="sla", since=since)["clocks"]
    times = apis.analytics(token=token, what="resolution-time", since=since)
    return {
        "hot": charts.bar_chart(title=say(UI, "hot_merchants", lang),
                                rows=[(str(r["merchant_id"]), float(r["open"])) for r in hot]),
        "sla": charts.bar_chart(title=say(UI, "sla", lang), unit="%", scale_max=100.0, rows=[
            (say(CLOCKS, str(c["clock"]), lang), round(100 * float(c["attainment"]), 1))
            for c in sla if c.get("attainment") is not None]),
        "times": charts.bar_chart(title=say(UI, "resolution_time", lang), rows=[
            (label, round(float(times[key]), 1)) for label, key in
            ((say(UI, "median", lang), "median_hours"), ("p90", "p90_hours")) if times.get(key) is not None]),
    }
