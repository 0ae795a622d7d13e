"""The JSON shapes evidence answers with."""

from __future__ import annotations

from typing import Any

from services.evidence.service.channel import CONFIRMED_LABEL
from services.evidence.models import EvidenceItem


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
