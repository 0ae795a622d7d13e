"""Evidence's logic: opening a complaint's evidence file."""

from __future__ import annotations

from services.evidence.models import EvidenceFile
from shared.contracts.complaints import ComplaintFiled
from shared.contracts.evidence import EvidenceFileOpened
from shared.envelope import utcnow
from shared.ledger import apply_once
from shared.outbox import emit
from shared.store import Tx

#: The kinds each category needs before it can be judged complete (DOMAIN.md, 证据链).
BASE_REQUIRED = ["order_record", "payment_proof"]


def open_file(*, event: ComplaintFiled, topic: str, consumer: str) -> EvidenceFile:
    """Open the evidence file of a newly filed complaint, once."""
    evidence_file = EvidenceFile(
        id=event.complaint_id,
        ticket=event.ticket,
        category=event.category,
        complainant_id=event.complainant.id,
        platform=event.platform,
        merchant_id=event.merchant.id,
        order=event.order.model_dump(mode="json"),
        required_kinds=list(BASE_REQUIRED),
        opened_at=utcnow(),
    )
    opened = EvidenceFileOpened(complaint_id=event.complaint_id, ticket=event.ticket,
                                required_kinds=evidence_file.required_kinds)

    def work(tx: Tx) -> EvidenceFile:
        tx.insert(evidence_file)
        emit(tx, topic=topic, messages=[opened])
        return evidence_file

    return apply_once(consumer=consumer, event=event, work=work)


def get_file(*, ticket: str) -> EvidenceFile | None:
    """The evidence file of a ticket, or None."""
    return EvidenceFile.objects(ticket=ticket).first()
