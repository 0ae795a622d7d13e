"""The escalation dossier: verify, log the export, and pack manifest, files and texts in a ZIP."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator, Mapping
from typing import IO, Any

from services.evidence.domain.custody import CustodyAction
from services.evidence.domain.dossier import DossierFile, render_all, write_dossier
from services.evidence.domain.errors import EvidenceRuleError
from services.evidence.models import EvidenceFile, EvidenceItem
from services.evidence.repository import content
from services.evidence.repository import items as stored_items
from services.evidence.service import access, custody
from services.evidence.service.files import find_file
from services.evidence.service.verification import verify_items
from shared.auth import Principal
from shared.store import UnitOfWork

_SPOOL_BYTES = 8 * 1024 * 1024  # bigger dossiers go to a temporary file, not memory


def _amount(value: Any, order: Mapping[str, Any]) -> tuple[int, str] | None:
    if isinstance(value, Mapping) and "amount_minor" in value:
        return int(value["amount_minor"]), str(value["currency"])
    if isinstance(value, int):
        return value, order["amount"]["currency"]
    return None


def demand_for_text(*, demand: Mapping[str, Any], order: Mapping[str, Any]) -> dict[str, Any]:
    """Intake's demand in the shape the complaint text renders (refund, reissue, unfreeze, custom)."""
    kind = demand.get("type")
    amount = _amount(demand.get("amount"), order)
    if kind == "refund":
        minor, currency = amount or (order["amount"]["amount_minor"], order["amount"]["currency"])
        return {"type": "refund", "amount_minor": minor,
                "currency": demand.get("currency") or currency}
    if kind == "reissue":
        return {"type": "reissue", "count": demand.get("count", 1),
                "item": order.get("item") or demand.get("item", "")}
    if kind == "compensation" and amount:
        return {"type": "custom", "text": f"Compensation {amount[0] / 100:.2f} {amount[1]} "
                                          f"({demand.get('basis', 'other')})"}
    if kind == "other":
        return {"type": "custom", "text": str(demand.get("text", ""))}
    if kind in ("refund_and_compensation", "fraud_triple"):
        return _refund_with_compensation(demand=demand, order=order)
    return dict(demand)


#: Why compensation is asked for, as the complaint text says it.
_BASES = {"delay": {"zh-CN": "延误损失", "en": "the delay"}, "loss": {"zh-CN": "损失", "en": "the loss"},
          "fraud_triple": {"zh-CN": "（退一赔三，消法第55条）",
                           "en": "fraud, three times the price and at least 500 CNY (Consumer Rights "
                                 "Protection Law art. 55)"},
          "other": {"zh-CN": "", "en": ""}}


def _refund_with_compensation(*, demand: Mapping[str, Any], order: Mapping[str, Any]) -> dict[str, Any]:
    """A demand in two parts (seed 003's refund and compensation for the delay; 退一赔三) as one text."""
    refund = demand.get("refund") or {}
    compensation = demand.get("compensation") or {}
    paid = (order["amount"]["amount_minor"], order["amount"]["currency"])
    minor, currency = _amount(refund.get("amount"), order) or paid
    extra = _amount(compensation.get("amount"), order)
    text = {"type": "refund", "amount_minor": minor, "currency": currency}
    if extra:
        text |= {"compensation_minor": extra[0],
                 "compensation_reason": _BASES.get(str(compensation.get("basis")), _BASES["other"])}
    return text


def _texts(evidence_file: EvidenceFile, items: list[EvidenceItem]) -> dict[str, str]:
    order = evidence_file.order
    told = f"{evidence_file.description.strip()} " if evidence_file.description.strip() else ""
    complaint = {"occurred_at": (evidence_file.incident_at or order.get("paid_at")
                                 or evidence_file.filed_at),
                 "platform": evidence_file.platform,
                 "merchant": evidence_file.merchant_name or evidence_file.merchant_id,
                 "order_number": order["order_number"],
                 "amount_minor": order["amount"]["amount_minor"],
                 "currency": order["amount"]["currency"],
                 "event": {"zh-CN": f"{told}所购商品：{order.get('item') or '—'}；投诉类别："
                                    f"{evidence_file.category}；受理编号 {evidence_file.ticket}。",
                           "en": f"{told}Item: {order.get('item') or '—'}; complaint category: "
                                 f"{evidence_file.category}; ticket {evidence_file.ticket}."}}
    evidence = [{"number": i.number, "kind": i.kind, "sha256": i.sha256,
                 "description": i.name} for i in items]
    try:
        return render_all(complaint=complaint, evidence=evidence,
                          demand=demand_for_text(demand=evidence_file.demand, order=order))
    except EvidenceRuleError:  # a demand the text cannot state: say so rather than invent one
        fallback = {"type": "custom", "text": "See the complaint record for the demand."}
        return render_all(complaint=complaint, evidence=evidence, demand=fallback)


def _manifest(evidence_file: EvidenceFile, items: list[EvidenceItem],
              results: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "complaint": {"ticket": evidence_file.ticket, "complaint_id": evidence_file.id,
                      "description": evidence_file.description,
                      "incident_at": evidence_file.incident_at,
                      "category": evidence_file.category, "platform": evidence_file.platform,
                      "merchant_id": evidence_file.merchant_id, "order": evidence_file.order,
                      "demand": evidence_file.demand, "filed_at": evidence_file.filed_at,
                      "status": evidence_file.status},
        "evidence": [{"number": i.number, "label": f"证据{i.number}", "evidence_id": i.id,
                      "kind": i.kind, "name": i.name, "mime": i.mime, "size": i.size,
                      "sha256": i.sha256, "fields": i.structured,
                      "channel_check": i.channel_check, "flags": i.flags} for i in items],
        "assessment": evidence_file.assessment,
        "verification": results,
        "custody": {str(i.number): custody.describe(
            entries=custody.list_chain(item_id=i.id)) for i in items},
    }


def _packed(items: list[EvidenceItem]) -> Iterator[DossierFile]:
    # One stored file open at a time; content that is gone is named by the verification instead.
    for item in items:
        stream = content.open_content(gridfs_id=item.gridfs_id)
        if stream is None:
            continue
        with stream:
            yield DossierFile(number=item.number, kind=item.kind, name=item.name,
                              extension=item.extension, sha256=item.sha256, stream=stream)


def export_dossier(uow: UnitOfWork, *, principal: Principal, ticket: str) -> tuple[IO[bytes], str]:
    """Build the dossier ZIP in a spooled file (rewound) and return it with its file name."""
    evidence_file = find_file(principal=principal, ticket=ticket)
    access.check_staff_or_owner(principal=principal, action="export a dossier")
    items = stored_items.list_items(complaint_id=evidence_file.id)
    actor = custody.actor_of(principal=principal)
    results = verify_items(uow, items=items, actor=actor)
    if items:
        uow.transaction(lambda tx: custody.append_to_chains(
            tx, item_ids=[i.id for i in items], action=CustodyAction.EXPORTED, actor=actor,
            details={"dossier": evidence_file.ticket}))
    target = tempfile.SpooledTemporaryFile(max_size=_SPOOL_BYTES)  # noqa: SIM115
    write_dossier(target=target, manifest=_manifest(evidence_file, items, results),
                  texts=_texts(evidence_file, items), files=_packed(items))
    target.seek(0)
    return target, f"dossier-{evidence_file.ticket}.zip"
