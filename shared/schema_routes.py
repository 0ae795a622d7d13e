"""`GET /schemas/{type}.json` on every service: the JSON Schemas of the public events' data, at their
`dataschema` URLs (see shared/contracts/public.py)."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException
from fastapi.responses import JSONResponse

from shared.contracts import public

router = APIRouter(tags=["public events"])


@router.get("/schemas", summary="The public event types and the URLs of their data schemas")
async def list_schemas() -> dict[str, list[dict[str, object]]]:
    return {"items": [{"type": t, "dataschema": public.schema_url(t), "title": public.titles(t)}
                      for t in public.PUBLIC_TYPES]}


@router.get("/schemas/{event_type}.json", summary="JSON Schema (draft 2020-12) of one public event type's data",
            responses={404: {"description": "No such public event type"}})
async def get_schema(event_type: str) -> JSONResponse:
    if event_type not in public.PUBLIC_TYPES:
        # Raised, not returned: the service's error handler answers it as problem details.
        raise HTTPException(status_code=404, detail={
            "field": "event_type", "rule": "unknown_event_type",
            "message": f"unknown event type {event_type!r}; known: {', '.join(public.PUBLIC_TYPES)}",
            "message_zh": f"未知的事件类型 {event_type!r}"})
    return JSONResponse(public.schema_of(event_type), media_type="application/schema+json",
                        headers={"Cache-Control": "public, max-age=300"})
