"""Evidence's HTTP routes."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException

from services.evidence import service

router = APIRouter(prefix="/v1/complaints", tags=["evidence"])


@router.get("/{ticket}/evidence-file", summary="The complaint's evidence file")
def get_evidence_file(ticket: str) -> dict[str, Any]:
    evidence_file = service.get_file(ticket=ticket)
    if evidence_file is None:
        raise HTTPException(status_code=404, detail=f"no evidence file for {ticket}")
    return {"ticket": evidence_file.ticket, "status": evidence_file.status,
            "category": evidence_file.category, "required_kinds": evidence_file.required_kinds,
            "opened_at": evidence_file.opened_at}
