"""The JSON shapes evidence answers with."""

from __future__ import annotations

from typing import Any

from services.evidence.models import EvidenceItem
from services.evidence.service.channel import CONFIRMED_LABEL


def item_view(*, item: EvidenceItem) -> dict[str, Any]:
    """One item as listed: its number (证据N), what it is, its hash and what checks found."""
    check = dict(item.channel_check or {})
    if check:
        check["confirmed_by_channel"] = check.get("outcome") == "confirmed"
        if check["confirmed_by_channel"]:
            check["label"], check["label_zh"] = CONFIRMED_LABEL["en"], CONFIRMED_LABEL["zh"]
    return {"evidence_id": item.id, "number": item.number, "label": f"证据{item.number}",
            "kind": item.kind, "fields": item.structured, "name": item.name, "mime": item.mime,
            "size": item.size, "sha256": item.sha256, "submitted_at": item.submitted_at,
            "submitted_by_role": item.submitted_by.get("role"), "flags": item.flags,
            "channel_check": check or None, "card_key_check": item.card_key_check or None}


def assessment_view(*, ticket: str, category: str, assessment: dict[str, Any] | None,
                    merchant: bool) -> dict[str, Any]:
    """The verdict as the caller may read it: a merchant sees only its own side and items."""
    verdict = assessment or {"score": 0, "missing": [], "flags": []}
    if not merchant:
        return {"ticket": ticket, "category": category, **verdict}
    own = [i for i in verdict.get("items", []) if i.get("by_merchant")]
    labels = tuple(f"证据{i['number']}:" for i in own)
    return {"ticket": ticket, "category": category, "merchant": verdict.get("merchant"),
            "items": own, "flags": [f for f in verdict.get("flags", []) if f.startswith(labels)],
            "assessed_at": verdict.get("assessed_at")}
