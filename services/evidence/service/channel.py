"""Payment-channel cross-check: records from partners against the payment proofs submitted."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from services.evidence.domain.kinds import EvidenceKind, PaymentProofFields, parse_fields
from services.evidence.domain.payments import PaymentRecord, cross_check, payment_keys
from services.evidence.repository import files, items, records
from services.evidence.service.assessing import reassess, record_is_of
from services.evidence.service.debits import confirm_debits
from shared.contracts.evidence import PaymentRecordMatched, PaymentRecordMismatched, PaymentRecordPublished
from shared.envelope import Event, utcnow
from shared.ledger import apply_once
from shared.outbox import emit
from shared.store import UnitOfWork

CONFIRMED_LABEL = {"en": "confirmed by channel", "zh": "支付渠道已确认"}


def record_of(*, message: PaymentRecordPublished) -> PaymentRecord:
    """The domain's view of a published record."""
    return PaymentRecord(channel=message.source, transaction_id=message.transaction_id,
                         order_number=message.order_number,
                         amount_minor=message.amount.amount_minor,
                         currency=message.amount.currency, status=message.status,
                         occurred_at=message.at)


def check_item(tx: UnitOfWork, *, item: Mapping[str, Any], record: PaymentRecord) -> Event | None:
    """Cross-check one payment proof; store and return an event only when the outcome changed."""
    proof = parse_fields(kind=item["kind"], fields=item.get("structured"))
    if not isinstance(proof, PaymentProofFields):
        return None
    check = cross_check(proof=proof, record=record)
    stored = {"outcome": check.outcome.value, "source": record.channel,
              "transaction_id": record.transaction_id, "record_status": record.status.value,
              "differences": [d.model_dump() for d in check.differences]}
    if {k: v for k, v in (item.get("channel_check") or {}).items() if k != "checked_at"} == stored:
        return None
    items.update_channel_check(tx, item_id=item["_id"], check=stored | {"checked_at": utcnow()})
    base = {"complaint_id": item["complaint_id"], "ticket": item["ticket"],
            "evidence_id": item["_id"], "transaction_id": record.transaction_id}
    if check.differences:
        return PaymentRecordMismatched(**base, fields=[d.field for d in check.differences])
    return PaymentRecordMatched(**base)


def stored_record(tx: UnitOfWork, *, transaction_id: str) -> PaymentRecord | None:
    """The latest record a channel published for a transaction, if any."""
    doc = records.get_payment_record(tx, transaction_id=transaction_id)
    return PaymentRecord.model_validate(doc["record"]) if doc else None


def _apply_to_orders(tx: UnitOfWork, *, record: PaymentRecord,
                     posted_by: Mapping[str, Any] | None, window: timedelta,
                     assessed: list[str]) -> list[Event]:
    """The record as the channel's word on each complaint whose own order it is: judged again
    (told only when the verdict changed), and a debit it shows told once."""
    events: list[Event] = []
    for evidence_file in files.list_files_for_record(tx, transaction_id=record.transaction_id,
                                                     order_number=record.order_number):
        if not record_is_of(evidence_file=evidence_file, record=record, posted_by=posted_by):
            continue
        if evidence_file["_id"] not in assessed:
            again = reassess(tx, complaint_id=evidence_file["_id"], window=window,
                             only_if_changed=True)
            events += [again] if again else []
        events += confirm_debits(tx, evidence_file=evidence_file, records=[record])
    return events


def apply_record(uow: UnitOfWork, *, message: PaymentRecordPublished, topic: str, consumer: str,
                 window: timedelta, posted_by: Mapping[str, Any] | None = None) -> int:
    """Store a record (latest status wins), check every proof naming it; return proofs checked."""
    record = record_of(message=message)

    def work(tx: UnitOfWork) -> int:
        current = records.get_payment_record(tx, transaction_id=record.transaction_id)
        if current and PaymentRecord.model_validate(current["record"]).occurred_at \
                > record.occurred_at:
            return 0  # an older status arriving late changes nothing
        records.update_payment_watches(tx, keys=payment_keys(
            transaction_id=record.transaction_id, order_number=record.order_number))
        records.update_payment_record(tx, transaction_id=record.transaction_id,
                                      record=record.model_dump(mode="json"), received_at=utcnow(),
                                      event_id=message.event_id,
                                      posted_by=dict(posted_by or {"via": "topic"}))
        proofs = items.list_proofs_naming(tx, kind=EvidenceKind.PAYMENT_PROOF.value,
                                          transaction_id=record.transaction_id)
        events: list[Event] = []
        changed: list[str] = []
        for item in proofs:
            event = check_item(tx, item=item, record=record)
            if event is not None:
                events.append(event)
                changed += [] if item["complaint_id"] in changed else [item["complaint_id"]]
        for complaint_id in changed:
            assessed = reassess(tx, complaint_id=complaint_id, window=window)
            events += [assessed] if assessed else []
        events += _apply_to_orders(tx, record=record, posted_by=posted_by, window=window,
                                   assessed=changed)
        if events:
            emit(tx, topic=topic, messages=events)
        return len(proofs)

    return apply_once(uow, consumer=consumer, event=message, work=work)
