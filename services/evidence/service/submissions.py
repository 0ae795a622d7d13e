"""Submitting evidence: check the caller and the input, stream the content, record the item."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, BinaryIO

from services.evidence.domain.custody import CustodyAction
from services.evidence.domain.errors import ComplaintClosedError, EvidenceRuleError, FieldsError
from services.evidence.domain.filetypes import sanitise_filename
from services.evidence.domain.hashing import check_complaint_budget
from services.evidence.domain.kinds import EvidenceKind, parse_fields, parse_kind
from services.evidence.models import EvidenceFile, EvidenceItem
from services.evidence.repository import content, files, items
from services.evidence.service import access, custody
from services.evidence.service.assessing import authenticity_flags, reassess
from services.evidence.service.channel import check_item, stored_record
from services.evidence.service.files import closed_error, find_file
from shared.auth import Principal
from shared.contracts.evidence import EvidenceSubmitted
from shared.envelope import Message, new_id, utcnow
from shared.outbox import emit
from shared.store import DuplicateKey, UnitOfWork


@dataclass(frozen=True)
class Limits:
    """Size limits and the relevance window, from settings."""

    max_file_bytes: int
    max_complaint_bytes: int
    window: timedelta


def parse_structured(*, kind: EvidenceKind, text: str | None) -> dict[str, Any]:
    """Parse the JSON structured fields of a kind into their stored, JSON-ready form."""
    try:
        raw = json.loads(text) if text and text.strip() else {}
    except ValueError:
        raise FieldsError(problems=[EvidenceRuleError(
            field="fields", rule="json", message="must be a JSON object of named fields",
            message_zh="结构化字段必须是 JSON 对象")]) from None
    fields = parse_fields(kind=kind.value, fields=raw)
    return fields.model_dump(mode="json", exclude_none=True)


def submit(uow: UnitOfWork, *, principal: Principal, ticket: str, kind: str, fields_text: str | None,
           filename: str, source: BinaryIO, limits: Limits,
           topic: str) -> tuple[EvidenceItem, bool]:
    """Store one item (or recognise its content as already stored); True when it is new."""
    evidence_file = find_file(principal=principal, ticket=ticket)
    if evidence_file.status != "open":
        raise closed_error(status=evidence_file.status)
    parsed_kind = parse_kind(kind=kind)
    access.check_submit(principal=principal, kind=parsed_kind)
    structured = parse_structured(kind=parsed_kind, text=fields_text)
    name = sanitise_filename(name=filename or "", strict=True)
    budget = max(0, limits.max_complaint_bytes - evidence_file.used_bytes)
    pending = content.upload(source=source, max_bytes=limits.max_file_bytes,
                             budget_left=budget)
    existing = items.get_item_by_content(complaint_id=evidence_file.id,
                                         sha256=pending.scanned.sha256)
    if existing is not None:
        pending.discard()
        _record_repeat(uow, item_id=existing.id, principal=principal, name=name)
        return existing, False
    scanned = pending.scanned
    # Our name, with the extension of the type the content proved to be, never the client's.
    gridfs_id = pending.keep(stored_name=f"{evidence_file.ticket}-{parsed_kind.value}-"
                                         f"{scanned.sha256[:16]}.{scanned.extension}")
    try:
        item_id = _record(uow, evidence_file=evidence_file, principal=principal, kind=parsed_kind,
                          structured=structured, name=name, scanned=pending.scanned,
                          gridfs_id=gridfs_id, limits=limits, topic=topic)
    except DuplicateKey:  # the same content won a race from another request
        content.delete_content(gridfs_id=gridfs_id)
        existing = items.get_item_by_content(complaint_id=evidence_file.id,
                                             sha256=pending.scanned.sha256)
        if existing is None:
            raise
        return existing, False
    except BaseException:
        content.delete_content(gridfs_id=gridfs_id)
        raise
    return items.get_new_item(item_id=item_id), True


def _record_repeat(uow: UnitOfWork, *, item_id: str, principal: Principal, name: str) -> None:
    uow.transaction(lambda tx: custody.append_to_chains(
        tx, item_ids=[item_id], action=CustodyAction.UPLOADED,
        actor=custody.actor_of(principal=principal),
        details={"repeat": True, "name": name}))


def _reserve(tx: UnitOfWork, *, evidence_file: EvidenceFile, size: int, limits: Limits) -> dict:
    claimed = files.reserve_number(tx, complaint_id=evidence_file.id, size=size,
                                   max_complaint_bytes=limits.max_complaint_bytes)
    if claimed is not None:
        return claimed
    now = files.get_file_doc(tx, complaint_id=evidence_file.id) or {}
    if now.get("status", "open") != "open":
        raise closed_error(status=now["status"])
    check_complaint_budget(used_bytes=now.get("used_bytes", 0), incoming_bytes=size,
                           max_bytes=limits.max_complaint_bytes)
    raise RuntimeError("evidence file could not be reserved")


def _record(uow: UnitOfWork, *, evidence_file: EvidenceFile, principal: Principal, kind: EvidenceKind,
            structured: dict[str, Any], name: str, scanned: Any, gridfs_id: str,
            limits: Limits, topic: str) -> str:
    item_id = new_id()
    flags = authenticity_flags(gridfs_id=gridfs_id, mime=scanned.mime,
                               filed_at=evidence_file.filed_at or evidence_file.opened_at)

    def work(tx: UnitOfWork) -> str:
        claimed = _reserve(tx, evidence_file=evidence_file, size=scanned.size, limits=limits)
        number = claimed.get("next_number", 1)
        head = custody.start_chain(tx, item_id=item_id,
                                   actor=custody.actor_of(principal=principal),
                                   details={"sha256": scanned.sha256, "size": scanned.size,
                                            "name": name})
        item = EvidenceItem(
            id=item_id, complaint_id=evidence_file.id, ticket=evidence_file.ticket,
            number=number, kind=kind.value, structured=structured, name=name, mime=scanned.mime,
            extension=scanned.extension, size=scanned.size, sha256=scanned.sha256,
            gridfs_id=gridfs_id, submitted_at=utcnow(), flags=flags, custody_head=head,
            submitted_by={"subject": principal.subject, "role": principal.role.value,
                          "merchant_id": principal.merchant_id})
        items.create_item(tx, item=item)
        events: list[Message] = [EvidenceSubmitted(
            complaint_id=evidence_file.id, ticket=evidence_file.ticket, evidence_id=item_id,
            number=number, kind=kind.value, sha256=scanned.sha256, size=scanned.size)]
        transaction_id = structured.get("transaction_id")
        record = stored_record(tx, transaction_id=transaction_id) if transaction_id else None
        if record is not None and kind is EvidenceKind.PAYMENT_PROOF:
            doc = items.get_item_doc(tx, item_id=item_id)
            assert doc is not None  # created above in this transaction
            checked = check_item(tx, item=doc, record=record)
            events += [checked] if checked else []
        assessed = reassess(tx, complaint_id=evidence_file.id, window=limits.window)
        events += [assessed] if assessed else []
        emit(tx, topic=topic, messages=events)
        return item_id

    return uow.transaction(work)


__all__ = ["ComplaintClosedError", "Limits", "submit"]
