"""Escalation's HTTP routes."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException

from services.escalation import service

router = APIRouter(prefix="/v1/cases", tags=["cases"])


@router.get("/{ticket}", summary="The case: state, tier and routing facts")
def get_case(ticket: str) -> dict[str, Any]:
    case = service.get_case(ticket=ticket)
    if case is None:
        raise HTTPException(status_code=404, detail=f"no case {ticket}")
    return {"ticket": case.ticket, "state": case.state, "tier": case.tier,
            "category": case.category, "priority": case.priority, "opened_at": case.opened_at}
