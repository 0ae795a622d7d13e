"""Judge a complaint's evidence (authentic, relevant, complete) and keep the verdict on its file."""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from services.evidence.domain.assessment import ItemToAssess, assess
from services.evidence.domain.authentic import check_authenticity
from services.evidence.domain.errors import EvidenceRuleError
from services.evidence.domain.kinds import EvidenceKind, parse_fields
from services.evidence.domain.relevant import ComplaintOrder
from services.evidence.repository import content, files, items as stored_items
from shared.contracts.evidence import EvidenceAssessed
from shared.envelope import utcnow
from shared.store import UnitOfWork

# EXIF and editor tags sit in the first segments; reading only these keeps memory flat.
_METADATA_BYTES = 1024 * 1024


def complaint_order(*, evidence_file: Mapping[str, Any]) -> ComplaintOrder:
    """The complaint's order as the relevance test reads it."""
    order = evidence_file["order"]
    paid_at = order.get("paid_at")
    ordered_at = paid_at or evidence_file.get("filed_at") or evidence_file["opened_at"]
    return ComplaintOrder(order_number=order["order_number"],
                          amount_minor=order["amount"]["amount_minor"],
                          currency=order["amount"]["currency"], ordered_at=ordered_at,
                          paid_at=paid_at, transaction_id=order.get("payment_transaction_id"))


def authenticity_flags(*, gridfs_id: str, mime: str, filed_at: datetime) -> list[dict[str, str]]:
    """Image metadata flags of stored content (flags for an agent, never refusals)."""
    if not mime.startswith("image/"):
        return []
    head = io.BytesIO(content.read_head(gridfs_id=gridfs_id, max_bytes=_METADATA_BYTES))
    return [f.model_dump() for f in check_authenticity(stream=head, mime=mime,
                                                      filed_at=filed_at)]


def _channel_flags(item: Mapping[str, Any]) -> list[str]:
    check = item.get("channel_check") or {}
    if check.get("outcome") != "mismatched":
        return []
    return [f"证据{item['number']}:channel_mismatch:{d['field']}"
            for d in check.get("differences", [])]


def evaluate(*, evidence_file: Mapping[str, Any], items: Sequence[Mapping[str, Any]],
             window: timedelta) -> dict[str, Any]:
    """The stored verdict: score, missing pieces, guidance in both languages, flags per item."""
    to_assess = [ItemToAssess(item_id=i["_id"], number=i["number"], kind=EvidenceKind(i["kind"]),
                              fields=parse_fields(kind=i["kind"], fields=i.get("structured")),
                              mime=i["mime"]) for i in sorted(items, key=lambda i: i["number"])]
    try:
        result = assess(category=evidence_file["category"], order=complaint_order(
            evidence_file=evidence_file), filed_at=evidence_file.get("filed_at") or utcnow(),
            items=to_assess, window=window)
    except EvidenceRuleError as exc:  # an unknown category cannot be judged, only reported
        return {"error": exc.as_dict(), "score": 0, "missing": [], "flags": [], "items": [],
                "assessed_at": utcnow()}
    by_id = {i["_id"]: i for i in items}
    flags, per_item = [], []
    for verdict in result.items:
        item = by_id[verdict.item_id]
        stored = item.get("flags") or []
        flags += [f"证据{verdict.number}:{f['code']}" for f in stored]
        flags += [f"证据{verdict.number}:mismatch:{m.field}" for m in verdict.mismatches]
        flags += _channel_flags(item)
        per_item.append({"evidence_id": verdict.item_id, "number": verdict.number,
                         "authenticity": stored,
                         "mismatches": [m.model_dump() for m in verdict.mismatches]})
    done = result.completeness
    return {"category": done.category.value, "score": done.score,
            "missing": [m.model_dump() for m in done.missing],
            "recommended": [m.model_dump() for m in done.recommended],
            "guidance_en": done.guidance_en, "guidance_zh": done.guidance_zh,
            "flags": flags, "items": per_item, "assessed_at": utcnow()}


def reassess(tx: UnitOfWork, *, complaint_id: str, window: timedelta) -> EvidenceAssessed | None:
    """Judge the file again inside `tx`, store the verdict and return the event to emit."""
    evidence_file = files.get_file_doc(tx, complaint_id=complaint_id)
    if evidence_file is None:
        return None
    items = stored_items.list_item_docs(tx, complaint_id=complaint_id)
    verdict = evaluate(evidence_file=evidence_file, items=items, window=window)
    files.update_assessment(tx, complaint_id=complaint_id, assessment=verdict)
    return EvidenceAssessed(complaint_id=complaint_id, ticket=evidence_file["ticket"],
                            completeness_score=verdict["score"],
                            missing=[m["code"] for m in verdict["missing"]],
                            flags=verdict["flags"])
