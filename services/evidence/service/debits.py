"""The channel's word on a complaint's own payment: its record counts, and a debit is told once."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from services.evidence.domain.payments import PaymentRecord, RecordStatus
from services.evidence.repository import files
from shared.contracts.evidence import PaymentDebitConfirmed
from shared.money import Money
from shared.store import UnitOfWork


def debit_confirmed(*, evidence_file: Mapping[str, Any],
                    record: PaymentRecord) -> PaymentDebitConfirmed:
    """The event telling that the channel's record shows the complaint's money taken."""
    return PaymentDebitConfirmed(
        complaint_id=evidence_file["_id"], ticket=evidence_file["ticket"],
        transaction_id=record.transaction_id, source=record.channel,
        amount=Money(amount_minor=record.amount_minor, currency=record.currency),
        record_status=record.status.value)


def debits_to_tell(*, evidence_file: Mapping[str, Any],
                   records: Iterable[PaymentRecord]) -> list[PaymentRecord]:
    """The records showing the money taken that were not told before for this complaint."""
    told = set(evidence_file.get("debits_confirmed") or [])
    fresh: dict[str, PaymentRecord] = {}
    for record in records:
        if record.status is RecordStatus.PAID and record.transaction_id not in told:
            fresh.setdefault(record.transaction_id, record)
    return list(fresh.values())


def confirm_debits(tx: UnitOfWork, *, evidence_file: Mapping[str, Any],
                   records: Iterable[PaymentRecord]) -> list[PaymentDebitConfirmed]:
    """Note each newly confirmed debit on the stored file and return the events to emit; a
    debit noted before (a record sent again, a complaint filed twice) is not told again."""
    if evidence_file.get("status", "open") != "open":
        return []  # a closed or withdrawn complaint has nothing left to refund
    events = []
    for record in debits_to_tell(evidence_file=evidence_file, records=records):
        if files.update_debit_confirmed(tx, complaint_id=evidence_file["_id"],
                                        transaction_id=record.transaction_id):
            events.append(debit_confirmed(evidence_file=evidence_file, record=record))
    return events
