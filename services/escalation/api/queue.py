"""The work-queue route: GET /v1/cases, filtered, nearest due clock first, paged by cursor."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from services.escalation.domain.queue import InvalidCursor, decode_cursor, encode_cursor
from services.escalation.service import queue
from shared.contracts.vocabulary import CaseState, Category, Priority, Tier
from shared.http_auth import CurrentPrincipal
from shared.openapi import field_refusal

router = APIRouter(prefix="/v1/cases", tags=["cases"])
_ID = r"^[A-Za-z0-9][A-Za-z0-9._:@-]*$"


class QueueQuery(BaseModel):
    """A queue's filters: plain values only, unknown parameters refused."""

    model_config = ConfigDict(extra="forbid")

    state: list[CaseState] | None = Field(None, description="状态（可重复）。Case state; repeat for any of several.")
    tier: Tier | None = Field(None, description="处理层级。Escalation tier.")
    category: Category | None = Field(None, description="投诉类型。Category.")
    merchant: str | None = Field(None, max_length=64, pattern=_ID, description="商户编号。Merchant id.")
    assignee: str | None = Field(None, max_length=64, pattern=_ID,
                                 description="处理人：客服编号，me（本人）或 none（未分派）。"
                                             "Agent id, `me`, or `none` for unassigned.")
    priority: Priority | None = Field(None, description="优先级。Priority.")
    breached: bool | None = Field(None, description="是否已超时。With (true) or without (false) a breached clock.")
    due_before: AwareDatetime | None = Field(None, description="最近截止早于。Nearest due clock before this instant.")
    cursor: str | None = Field(None, max_length=512, description="上一页的 next_cursor。From the last page.")
    limit: int = Field(20, ge=1, le=100, description="每页条数。Page size.")


@router.get("", summary="The work queue: cases in your scope, nearest due clock first (工作队列)",
            responses={422: {"description": "A filter breaks a rule (names the field and the rule)"}})
def list_cases(query: Annotated[QueueQuery, Query()], principal: CurrentPrincipal) -> dict[str, Any]:
    """Cases you may see, filtered, sorted by the handling side's nearest due clock (breached first,
    cases with no running clock last); `total` counts every match, `next_cursor` pages on."""
    after = None
    if query.cursor is not None:
        try:
            after = decode_cursor(text=query.cursor)
        except InvalidCursor as exc:
            raise field_refusal(field="cursor", rule="cursor", en="Not a cursor from this service",
                                zh="分页游标无效") from exc
    filters = queue.QueueFilters(
        state=query.state, tier=query.tier, category=query.category, merchant=query.merchant,
        assignee=query.assignee, priority=query.priority, breached=query.breached, due_before=query.due_before)
    items, following, total = queue.list_cases(principal=principal, filters=filters, after=after,
                                               limit=query.limit)
    return {"items": items, "total": total,
            "next_cursor": encode_cursor(cursor=following) if following else None}
