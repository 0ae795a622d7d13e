"""Opening an evidence file while its complaint is closed, or while the channel's record of its
payment is applied, on the real store: neither is lost, whichever transaction commits first."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from pymongo import monitoring
from pymongo.errors import OperationFailure

from services.evidence.models import ComplaintClosure, EvidenceFile, PaymentRecordDoc, PaymentWatch
from services.evidence.service.channel import apply_record
from services.evidence.service.files import open_file, set_status
from shared.contracts.complaints import ComplaintFiled
from shared.contracts.escalation import ComplaintStatusChanged
from shared.contracts.evidence import PaymentRecordPublished
from shared.envelope import new_id
from shared.ledger import ProcessedEvent
from shared.outbox import OutboxEntry
from shared.store import UnitOfWork, is_conflict
from tests.support.notify_harness import complaint_filed
from tests.support.outbox import outbox_records
from tests.support.servers import Servers, own_database
from tests.support.waiting import wait_until

pytestmark = pytest.mark.integration


class Conflicts(monitoring.CommandListener):
    """Counts write conflicts (code 112) the store answers to this process."""

    def __init__(self) -> None:
        self.seen = 0

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        pass

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        errors = event.reply.get("writeErrors") or []
        self.seen += sum(1 for e in errors if e.get("code") == 112)

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        self.seen += int(getattr(event.failure, "get", lambda *_: None)("code") == 112)


CONFLICTS = Conflicts()
monitoring.register(CONFLICTS)


@pytest.fixture
def evidence_db(servers: Servers, namespace: str) -> Iterator[None]:
    with own_database(servers, f"{namespace}_evidence_races", EvidenceFile, ComplaintClosure, ProcessedEvent,
                      OutboxEntry, PaymentRecordDoc, PaymentWatch):
        yield


def opening_in_a_poll(filed: ComplaintFiled) -> UnitOfWork:
    """The file opened in a consumer's group, not committed yet."""
    batch = UnitOfWork.group()
    open_file(batch, event=filed, topic="evidence-events", consumer="evidence")
    return batch


def test_a_close_applied_while_the_file_is_being_opened_is_not_lost(evidence_db: None) -> None:
    filed = complaint_filed()
    closed = ComplaintStatusChanged(complaint_id=filed.complaint_id, ticket=filed.ticket, from_state="resolved",
                                    to_state="closed", tier="internal")
    # The opening runs in a consumer's shared transaction that has not committed yet ...
    batch = opening_in_a_poll(filed)
    # ... when the closing event, from another topic, is applied by another consumer.
    before = CONFLICTS.seen
    closing = threading.Thread(target=set_status, args=(UnitOfWork.standalone(),),
                               kwargs={"event": closed, "status": "closed", "consumer": "evidence"})
    closing.start()
    # Either the close waits on the opening (it conflicts, and retries), or it has committed alone.
    wait_until(lambda: CONFLICTS.seen > before or not closing.is_alive(), timeout=30,
               what="the close to conflict with the opening or to finish")
    try:
        batch.commit()
    except OperationFailure as exc:
        # The close committed first: the opening's write of the same marker conflicts, and the
        # consumer applies its poll again, as here.
        assert is_conflict(exc), exc
        batch.abort()
        opening_in_a_poll(filed).commit()
    closing.join(60)
    assert not closing.is_alive()
    assert EvidenceFile.objects(id=filed.complaint_id).get().status == "closed"


def test_a_channel_record_applied_while_the_file_is_being_opened_still_confirms_the_debit(
        evidence_db: None) -> None:
    plain = complaint_filed()  # no transaction id: the record is matched by order number
    filed = plain.model_copy(update={"order": plain.order.model_copy(
        update={"order_number": f"FK{new_id()[:10]}"})})
    record = PaymentRecordPublished(source="alipay", transaction_id=f"TX-{new_id()[:12]}",
                                    order_number=filed.order.order_number,
                                    amount=filed.order.amount, status="paid",
                                    at=datetime.now(UTC))
    batch = opening_in_a_poll(filed)  # read the records before this one is stored ...
    before = CONFLICTS.seen
    applying = threading.Thread(target=apply_record, args=(UnitOfWork.standalone(),), kwargs={
        "message": record, "topic": "evidence-events", "consumer": "evidence",
        "window": timedelta(hours=24)})
    applying.start()  # ... while the record, applied meanwhile, looks for files of its order
    wait_until(lambda: CONFLICTS.seen > before or not applying.is_alive(), timeout=30,
               what="the record to conflict with the opening or to finish")
    try:
        batch.commit()
    except OperationFailure as exc:
        assert is_conflict(exc), exc
        batch.abort()
        opening_in_a_poll(filed).commit()
    applying.join(60)
    assert not applying.is_alive()
    told = [r for r in outbox_records() if (r.key, r.message_type) == (filed.complaint_id, "PaymentDebitConfirmed")]
    assert len(told) == 1
