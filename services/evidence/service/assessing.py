"""Judge a complaint's evidence (authentic, relevant, complete) and keep the verdict on its file."""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from services.evidence.domain.assessment import ChannelFacts, ItemToAssess, assess
from services.evidence.domain.authentic import check_authenticity
from services.evidence.domain.burden import is_software_licence
from services.evidence.domain.errors import EvidenceRuleError
from services.evidence.domain.kinds import EvidenceKind, parse_fields
from services.evidence.domain.payments import PaymentRecord, matches_order
from services.evidence.domain.relevant import ComplaintOrder
from services.evidence.repository import content, files, records
from services.evidence.repository import items as stored_items
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


def record_is_of(*, evidence_file: Mapping[str, Any], record: PaymentRecord,
                 posted_by: Mapping[str, Any] | None) -> bool:
    """Whether a channel's record is of the complaint's own payment (payments.matches_order)."""
    order = evidence_file["order"]
    transaction_id = order.get("payment_transaction_id")
    platform = (posted_by or {}).get("platform")
    if not transaction_id and platform and platform != evidence_file["platform"]:
        return False  # order numbers are a platform's own: another platform's is another order
    return matches_order(record=record, transaction_id=transaction_id,
                         order_number=order["order_number"],
                         amount_minor=order["amount"]["amount_minor"],
                         currency=order["amount"]["currency"])


def matching_records(tx: UnitOfWork, *,
                     evidence_file: Mapping[str, Any]) -> list[PaymentRecord]:
    """The channels' stored records of the complaint's own payment."""
    order = evidence_file["order"]
    found = []
    for doc in records.list_records_for_order(
            tx, transaction_id=order.get("payment_transaction_id"),
            order_number=order["order_number"]):
        record = PaymentRecord.model_validate(doc["record"])
        if record_is_of(evidence_file=evidence_file, record=record,
                        posted_by=doc.get("posted_by")):
            found.append(record)
    return found


def channel_facts(*, found: Sequence[PaymentRecord]) -> ChannelFacts | None:
    """What the channel's latest record of the complaint's payment says, if one arrived."""
    if not found:
        return None
    latest = max(found, key=lambda r: r.occurred_at)
    return ChannelFacts(source=latest.channel, transaction_id=latest.transaction_id,
                        record_status=latest.status.value)


def _to_assess(item: Mapping[str, Any], merchant_id: str) -> ItemToAssess:
    by = item.get("submitted_by") or {}
    key = item.get("card_key_check") or {}
    return ItemToAssess(item_id=item["_id"], number=item["number"], kind=EvidenceKind(item["kind"]),
                        fields=parse_fields(kind=item["kind"], fields=item.get("structured")),
                        mime=item["mime"], card_key_status=key.get("status"),
                        card_key_last4=key.get("key_last4"),
                        by_merchant=by.get("role") == "merchant"
                        and by.get("merchant_id") == merchant_id)


def evaluate(*, evidence_file: Mapping[str, Any], items: Sequence[Mapping[str, Any]],
             window: timedelta, channel: ChannelFacts | None = None) -> dict[str, Any]:
    """The stored verdict: score, missing pieces, guidance in both languages, flags per item,
    findings of the issuer and the channel, and the merchant's side of the burden."""
    to_assess = [_to_assess(i, evidence_file["merchant_id"])
                 for i in sorted(items, key=lambda i: i["number"])]
    texts = [evidence_file["order"].get("item") or "", evidence_file.get("description") or ""]
    try:
        result = assess(category=evidence_file["category"], order=complaint_order(
            evidence_file=evidence_file), filed_at=evidence_file.get("filed_at") or utcnow(),
            items=to_assess, window=window, channel=channel,
            software_licence=is_software_licence(texts=texts))
    except EvidenceRuleError as exc:  # an unknown category cannot be judged, only reported
        return {"error": exc.as_dict(), "score": 0, "missing": [], "flags": [], "items": [],
                "findings": [], "merchant": None, "assessed_at": utcnow()}
    by_id = {i["_id"]: i for i in items}
    by_id_merchant = {i.item_id: i.by_merchant for i in to_assess}
    flags, per_item = [], []
    for verdict in result.items:
        item = by_id[verdict.item_id]
        stored = item.get("flags") or []
        flags += [f"证据{verdict.number}:{f['code']}" for f in stored]
        flags += [f"证据{verdict.number}:mismatch:{m.field}" for m in verdict.mismatches]
        flags += _channel_flags(item)
        per_item.append({"evidence_id": verdict.item_id, "number": verdict.number,
                         "authenticity": stored, "by_merchant": by_id_merchant[verdict.item_id],
                         "mismatches": [m.model_dump() for m in verdict.mismatches]})
    done = result.completeness
    return {"category": done.category.value, "score": done.score,
            "missing": [m.model_dump() for m in done.missing],
            "recommended": [m.model_dump() for m in done.recommended],
            "guidance_en": done.guidance_en, "guidance_zh": done.guidance_zh,
            "flags": flags, "items": per_item,
            "findings": [f.model_dump() | {"tag": f.tag} for f in result.findings],
            "merchant": result.merchant.model_dump(), "assessed_at": utcnow()}


def _summary(verdict: Mapping[str, Any] | None) -> tuple[Any, ...]:
    verdict = verdict or {}
    merchant = verdict.get("merchant") or {}
    return (verdict.get("score"), [m["code"] for m in verdict.get("missing", [])],
            verdict.get("flags"), [f["tag"] for f in verdict.get("findings", [])],
            [m["code"] for m in merchant.get("missing", [])], merchant.get("burden_met"))


def assessed_event(*, evidence_file: Mapping[str, Any],
                   verdict: Mapping[str, Any]) -> EvidenceAssessed:
    """The event telling others the verdict (codes only; the texts stay on the file)."""
    merchant = verdict.get("merchant") or {}
    return EvidenceAssessed(complaint_id=evidence_file["_id"], ticket=evidence_file["ticket"],
                            completeness_score=verdict["score"],
                            missing=[m["code"] for m in verdict["missing"]],
                            flags=verdict["flags"],
                            findings=[f["tag"] for f in verdict.get("findings", [])],
                            merchant_missing=[m["code"] for m in merchant.get("missing", [])],
                            merchant_burden_met=merchant.get("burden_met"))


def reassess(tx: UnitOfWork, *, complaint_id: str, window: timedelta,
             only_if_changed: bool = False) -> EvidenceAssessed | None:
    """Judge the file again inside `tx`, store the verdict and return the event to emit (None
    when `only_if_changed` and the verdict says what it said before)."""
    evidence_file = files.get_file_doc(tx, complaint_id=complaint_id)
    if evidence_file is None:
        return None
    items = stored_items.list_item_docs(tx, complaint_id=complaint_id)
    verdict = evaluate(evidence_file=evidence_file, items=items, window=window,
                       channel=channel_facts(found=matching_records(
                           tx, evidence_file=evidence_file)))
    files.update_assessment(tx, complaint_id=complaint_id, assessment=verdict)
    if only_if_changed and _summary(evidence_file.get("assessment")) == _summary(verdict):
        return None
    return assessed_event(evidence_file=evidence_file, verdict=verdict)
