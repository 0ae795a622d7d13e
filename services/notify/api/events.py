"""Notify's HTTP route for partners' reconciliation: the platform's partner events, paged by cursor."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Query, Request

from services.notify.api import errors
from services.notify.api.subscriptions import bad_cursor, partner_of
from services.notify.domain.cursors import BadCursor
from services.notify.service import events_log
from services.notify.service import subscriptions as subs
from shared.http_auth import CurrentPrincipal

router = APIRouter(tags=["webhooks"])


@router.get("/v1/events",
            summary="The platform's partner events (what webhooks carry), oldest first, for reconciliation",
            description="Every event the caller's platform's partners may hear of, with the body its webhooks carry, "
                        "in the order notify recorded them, whether or not a subscription took it. `since` (recorded "
                        "at or after; UTC when no zone is given), `types` (comma-separated or repeated; the public "
                        "type or its internal name), `limit`, and `cursor`: the `next_cursor` of the previous page, "
                        "given on every non-empty page so a reconciler can ask again later for what came since. "
                        "Another platform's events are never listed. An event is listed once it was recorded a few "
                        "seconds ago (`NOTIFY_EVENTS_LIST_SETTLE_S`, 5 s by default), so a transaction still "
                        "committing never holds an earlier event back behind a cursor already given; its webhook "
                        "may arrive before then.",
            responses={403: {"description": "Not a partner"},
                       422: {"description": "A parameter refused, with the rule"}})
async def get_events(request: Request, principal: CurrentPrincipal,
                     since: datetime | None = Query(None, description="Recorded at or after"),
                     types: list[str] | None = Query(None, description="Event types (comma-separated or repeated)"),
                     limit: int = Query(100, ge=1, le=500),
                     cursor: str | None = Query(None, max_length=300)) -> dict[str, Any]:
    platform = partner_of(principal)
    asked = {part.strip() for value in types or () for part in value.split(",") if part.strip()}
    unknown = sorted(asked - set(subs.PARTNER_EVENTS))
    if unknown:
        raise errors.field_refused(field="types", rule="one_of",
                                   message=f"types: unknown event types {unknown}; allowed: {subs.PARTNER_EVENTS}",
                                   message_zh=f"types：未知的事件类型 {unknown}")
    if since is not None and since.tzinfo is None:
        since = since.replace(tzinfo=UTC)
    try:
        page = await asyncio.to_thread(events_log.list_events, platform=platform, since=since, types=asked,
                                       limit=limit, cursor=cursor,
                                       settle_s=request.app.state.runtime.settings.events_list_settle_s)
    except BadCursor as exc:
        raise bad_cursor() from exc
    return {"items": page.items, "next_cursor": page.next_cursor, "has_more": page.has_more}
