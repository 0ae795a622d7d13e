"""Reading a complaint's evidence: its file, its items, one item's content, each read logged on its chain."""

from __future__ import annotations

from typing import IO

from services.evidence.domain.custody import CustodyAction
from services.evidence.models import EvidenceFile, EvidenceItem
from services.evidence.repository import content
from services.evidence.repository import items as stored_items
from services.evidence.service import access, custody
from services.evidence.service.files import EvidenceNotFound, find_file
from shared.auth import Principal
from shared.store import UnitOfWork


def get_assessed_file(*, principal: Principal, ticket: str) -> EvidenceFile:
    """The evidence file whose assessment the caller (complainant, agent, merchant) may read."""
    evidence_file = find_file(principal=principal, ticket=ticket)
    access.check_assessment_reader(principal=principal)
    return evidence_file


def list_evidence(uow: UnitOfWork, *, principal: Principal,
                  ticket: str) -> tuple[EvidenceFile, list[EvidenceItem]]:
    """The file and the items the caller may see, numbered; the viewing is logged on each chain."""
    evidence_file = find_file(principal=principal, ticket=ticket)
    items = access.visible(principal=principal,
                           items=stored_items.list_items(complaint_id=evidence_file.id))
    if items:
        uow.transaction(lambda tx: custody.append_to_chains(
            tx, item_ids=[i.id for i in items], action=CustodyAction.VIEWED,
            actor=custody.actor_of(principal=principal)))
    return evidence_file, items


def open_evidence(uow: UnitOfWork, *, principal: Principal, ticket: str,
                  evidence_id: str) -> tuple[EvidenceItem, IO[bytes]]:
    """One item the caller may see and a stream of its stored content; the download is logged."""
    evidence_file = find_file(principal=principal, ticket=ticket)
    item = stored_items.get_item(complaint_id=evidence_file.id, item_id=evidence_id)
    found = access.visible(principal=principal, items=[item] if item is not None else [])
    stream = content.open_content(gridfs_id=found[0].gridfs_id) if found else None
    if stream is None:
        raise EvidenceNotFound(evidence_id)
    item = found[0]
    uow.transaction(lambda tx: custody.append_to_chains(
        tx, item_ids=[item.id], action=CustodyAction.DOWNLOADED,
        actor=custody.actor_of(principal=principal)))
    return item, stream
