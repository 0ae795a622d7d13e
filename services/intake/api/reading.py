"""GET routes: one complaint, a filtered page of complaints, and a complaint's trace, all scoped."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator

from services.intake import service
from services.intake.api import examples
from services.intake.api.errors import ERROR_ANSWERS, FieldErrors, not_found
from services.intake.api.tracing import spans_of
from services.intake.api.views import complaint_view, summary_view, visible
from services.intake.domain.cursor import InvalidCursor, decode_cursor, encode_cursor
from services.intake.domain.priority import Priority
from services.intake.domain.schemas import Category, hyphen_spelling
from services.intake.domain.status import ComplaintStatus
from shared.auth import scope_filter
from shared.http_auth import CurrentPrincipal

router = APIRouter(prefix="/v1/complaints", tags=["complaints"], responses=ERROR_ANSWERS)
_ID = r"^[A-Za-z0-9][A-Za-z0-9._:@-]*$"
Ticket = Annotated[str, Path(pattern=r"^[A-Z]{1,6}-\d{8}-\d{6,}$", max_length=40,
                             description="受理编号。Ticket number.", examples=["CP-20261123-000123"])]


class ListFilters(BaseModel):
    """Filters of a listing: plain values only, unknown parameters refused."""

    model_config = ConfigDict(extra="forbid")

    status: ComplaintStatus | None = Field(None, description="状态。Status.")
    category: Category | None = Field(None, description="投诉类型。Category.")
    platform: str | None = Field(None, max_length=64, pattern=_ID, description="平台。Platform id.")
    merchant: str | None = Field(None, max_length=64, pattern=_ID, description="商户编号。Merchant id.")
    priority: Priority | None = Field(None, description="优先级。Priority.")
    filed_from: AwareDatetime | None = Field(None, description="起（含）。Filed at or after.")
    filed_to: AwareDatetime | None = Field(None, description="止（不含）。Filed before.")
    cursor: str | None = Field(None, max_length=512, description="上一页的 next_cursor。From the last page.")
    limit: int = Field(20, ge=1, le=100, description="每页条数。Page size.")

    @field_validator("category", mode="before")
    @classmethod
    def _one_spelling(cls, value: Any) -> Any:
        return hyphen_spelling(value)


@router.get("", summary="List complaints in your scope (投诉列表)",
            responses={200: examples.answer("A page, newest first; pass next_cursor for the next one",
                                            ("列表", examples.PAGE_ZH), ("List", examples.PAGE_EN))})
def list_complaints(query: Annotated[ListFilters, Query()], principal: CurrentPrincipal,
                    request: Request) -> dict[str, Any]:
    """Complaints you may see, filtered, newest first, with an opaque cursor to the next page."""
    after = None
    if query.cursor is not None:
        try:
            after = decode_cursor(text=query.cursor)
        except InvalidCursor as exc:
            raise FieldErrors(field="cursor", rule="cursor", en="Not a cursor from this service",
                              zh="分页游标无效") from exc
    filters = {name: str(value) for name, value in (
        ("status", query.status), ("category", query.category), ("platform", query.platform),
        ("merchant.id", query.merchant), ("priority", query.priority)) if value is not None}
    limit = min(query.limit, request.app.state.runtime.settings.page_size_max)
    page, following = service.list_complaints(
        scope=scope_filter(principal=principal), filters=filters, filed_from=query.filed_from,
        filed_to=query.filed_to, after=after, limit=limit)
    return {"items": [summary_view(c) for c in page],
            "next_cursor": encode_cursor(cursor=following) if following else None}


@router.get("/{ticket}", summary="A complaint with its status and timeline (查询投诉)",
            responses={200: examples.answer("The complaint; contact masked unless you are the complainant",
                                            ("投诉详情", examples.VIEW_ZH), ("Complaint", examples.VIEW_EN)),
                       404: examples.not_found()})
def get_complaint(ticket: Ticket, principal: CurrentPrincipal) -> dict[str, Any]:
    """The complaint, if it is in your scope."""
    complaint = service.get_complaint(ticket=ticket)
    if complaint is None or not visible(principal=principal, complaint=complaint):
        not_found(ticket)
    return complaint_view(complaint, principal=principal, timeline=service.steps_of(complaint))


@router.get("/{ticket}/trace", summary="Every span of the complaint's one trace (调用链)",
            responses={200: examples.answer("Spans of all services", ("调用链", examples.TRACE),
                                            ("Trace", examples.TRACE)),
                       404: examples.not_found(),
                       501: {"description": "Spans go to an OTLP collector and COMPLAINTS_TRACE_QUERY_URL is unset"},
                       502: {"description": "The trace query service (Jaeger) did not answer"}})
def get_trace(ticket: Ticket, principal: CurrentPrincipal, request: Request) -> dict[str, Any]:
    """The spans every service recorded for the complaint, if it is in your scope."""
    complaint = service.get_complaint(ticket=ticket)
    if complaint is None or not visible(principal=principal, complaint=complaint) or not complaint.trace_id:
        not_found(ticket)
    source, spans = spans_of(settings=request.app.state.runtime.settings, trace_id=complaint.trace_id)
    return {"ticket": ticket, "trace_id": complaint.trace_id, "source": source,
            "services": sorted({s["service"] for s in spans if s.get("service")}), "spans": spans}
