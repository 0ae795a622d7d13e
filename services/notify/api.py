"""Notify's HTTP routes."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query

from services.notify import service

router = APIRouter(prefix="/v1/inbox", tags=["inbox"])


@router.get("", summary="In-app notifications of a recipient, newest first")
def get_inbox(recipient_id: str = Query(min_length=1, max_length=128)) -> dict[str, Any]:
    items = service.list_inbox(recipient_id=recipient_id)
    return {"items": [{"ticket": n.ticket, "subject": n.subject, "body": n.body,
                       "created_at": n.created_at, "read": n.read_at is not None} for n in items]}
