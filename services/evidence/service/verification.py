"""Prove evidence unaltered: recompute every file hash and every custody chain, name what broke."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any

from services.evidence.domain.custody import CustodyAction, verify_chain
from services.evidence.models import EvidenceItem
from services.evidence.repository import content
from services.evidence.repository import items as stored_items
from services.evidence.service import access, custody
from services.evidence.service.files import find_file
from shared.auth import Principal
from shared.store import UnitOfWork


def _file_result(item: EvidenceItem) -> dict[str, Any]:
    now = content.hash_content(gridfs_id=item.gridfs_id)
    if now is None:
        return {"intact": False, "problem": "missing", "message": "the stored content is gone"}
    sha256, size = now
    if sha256 != item.sha256 or size != item.size:
        return {"intact": False, "problem": "content_changed", "sha256_recorded": item.sha256,
                "sha256_now": sha256,
                "message": "the stored content no longer matches the hash taken at upload"}
    return {"intact": True, "sha256": sha256}


def verify_item(*, item: EvidenceItem) -> dict[str, Any]:
    """One item's verdict: its content and its custody chain, each intact or tampered."""
    file_result = _file_result(item)
    entries = custody.list_chain(item_id=item.id)
    problems = verify_chain(entries=entries, expected_head=item.custody_head)
    intact = file_result["intact"] and not problems
    named = [f"证据{item.number}: {file_result['message']}"] if not file_result["intact"] else []
    named += [f"证据{item.number}: {p.message}" for p in problems]
    return {"evidence_id": item.id, "number": item.number, "label": f"证据{item.number}",
            "status": "intact" if intact else "tampered", "file": file_result,
            "custody": {"intact": not problems, "entries": len(entries),
                        "problems": [p.model_dump() for p in problems]},
            "findings": named}


def verify_items(uow: UnitOfWork, *, items: Sequence[EvidenceItem], actor: str) -> list[dict[str, Any]]:
    """Verify each item and log the verification on its chain."""
    results = [verify_item(item=item) for item in items]
    for result in results:
        uow.transaction(functools.partial(
            custody.append_to_chains, item_ids=[result["evidence_id"]], action=CustodyAction.VERIFIED, actor=actor,
            details={"status": result["status"]}))
    return results


def verify_evidence(uow: UnitOfWork, *, principal: Principal, ticket: str) -> dict[str, Any]:
    """Verify every item of a complaint for the complainant or an agent; name what was tampered with."""
    evidence_file = find_file(principal=principal, ticket=ticket)
    access.check_staff_or_owner(principal=principal, action="verify evidence")
    items = stored_items.list_items(complaint_id=evidence_file.id)
    results = verify_items(uow, items=items, actor=custody.actor_of(principal=principal))
    tampered = [r for r in results if r["status"] != "intact"]
    return {"ticket": ticket, "intact": not tampered, "items": results,
            "tampered": [r["label"] for r in tampered]}
