"""Opening, finding, closing and re-categorising a complaint's evidence file."""

from __future__ import annotations

from datetime import timedelta

from services.evidence.domain.errors import ComplaintClosedError
from services.evidence.domain.payments import payment_keys
from services.evidence.domain.relevant import DEFAULT_WINDOW
from services.evidence.models import EvidenceFile
from services.evidence.repository import files, records
from services.evidence.service import access
from services.evidence.service.assessing import assessed_event, channel_facts, evaluate, matching_records, reassess
from services.evidence.service.debits import debit_confirmed, debits_to_tell
from shared.auth import Principal
from shared.contracts.complaints import ComplaintFiled, ComplaintUpdated
from shared.contracts.evidence import EvidenceFileOpened
from shared.envelope import Event, Message, utcnow
from shared.ledger import apply_once
from shared.outbox import emit
from shared.store import UnitOfWork

#: The kinds each category needs before it can be judged complete (DOMAIN.md, 证据链).
BASE_REQUIRED = ["order_record", "payment_proof"]
CLOSED_STATES = frozenset({"closed", "withdrawn"})


class EvidenceNotFound(LookupError):
    """No complaint by that ticket in the caller's scope (answered 404, never 403)."""


def open_file(uow: UnitOfWork, *, event: ComplaintFiled, topic: str, consumer: str,
              window: timedelta = DEFAULT_WINDOW) -> EvidenceFile:
    """Open the evidence file of a newly filed complaint, once; a channel's record of its payment
    that arrived first is taken into account at once (judged, and a debit it shows told)."""
    evidence_file = EvidenceFile(
        id=event.complaint_id, ticket=event.ticket, category=event.category,
        complainant_id=event.complainant.id, platform=event.platform,
        merchant_id=event.merchant.id, merchant_name=event.merchant.name,
        order=event.order.model_dump(mode="json"), demand=event.demand, filed_at=event.filed_at,
        incident_at=event.incident_at, description=event.description,
        required_kinds=list(BASE_REQUIRED), opened_at=utcnow(),
    )
    def work(tx: UnitOfWork) -> EvidenceFile:
        # Opening marks the complaint's closing document too, so opening and closing never both
        # go through unaware of each other (repository.files.update_closure_opened says how).
        closure = files.get_closure(tx, complaint_id=event.complaint_id)
        files.update_closure_opened(tx, complaint_id=event.complaint_id)
        if closure is not None and closure.get("status"):  # the closing event overtook the filing
            evidence_file.status = closure["status"]
        said = _channel_said(tx, evidence_file=evidence_file, window=window)
        first = [m["code"] for m in (evidence_file.assessment or {}).get("missing", [])]
        opened = EvidenceFileOpened(complaint_id=event.complaint_id, ticket=event.ticket,
                                    required_kinds=evidence_file.required_kinds, missing=first)
        events: list[Event] = [opened, *said]
        files.create_file(tx, evidence_file=evidence_file)
        emit(tx, topic=topic, messages=events)
        return evidence_file

    return apply_once(uow, consumer=consumer, event=event, work=work)


def _channel_said(tx: UnitOfWork, *, evidence_file: EvidenceFile,
                  window: timedelta) -> list[Event]:
    """The new file's first verdict, set on it before it is written (it is added, not updated),
    so every reader sees from the start what is missing, the merchant's side included. Stored
    channel records of its order count at once: then the verdict is told (it is not what a new
    file's would be) and each debit they confirm too."""
    doc = evidence_file.to_mongo().to_dict()
    transaction_id = doc["order"].get("payment_transaction_id")
    records.update_payment_watches(tx, keys=payment_keys(
        transaction_id=transaction_id,
        order_number=None if transaction_id else doc["order"]["order_number"]))
    found = matching_records(tx, evidence_file=doc)
    verdict = evaluate(evidence_file=doc, items=[], window=window,
                       channel=channel_facts(found=found))
    evidence_file.assessment = verdict
    if not found:
        return []
    events: list[Event] = [assessed_event(evidence_file=doc, verdict=verdict)]
    if evidence_file.status == "open":
        fresh = debits_to_tell(evidence_file=doc, records=found)
        evidence_file.debits_confirmed = [r.transaction_id for r in fresh]
        events += [debit_confirmed(evidence_file=doc, record=r) for r in fresh]
    return events


def read_ahead(events: list[Message], uow: UnitOfWork) -> None:
    """Read, for a consumer's group, the closing marks of the filings among its events and the
    channels' records of their payments, in one query each (see UnitOfWork.read_ahead)."""
    filings = [e for e in events if isinstance(e, ComplaintFiled)]
    files.read_ahead_closures(uow, complaint_ids=[e.complaint_id for e in filings])
    records.read_ahead_records_for_orders(uow, orders=[
        (e.order.payment_transaction_id, e.order.order_number) for e in filings])


def set_status(uow: UnitOfWork, *, event: Event, status: str, consumer: str) -> None:
    """Record that a complaint was closed, withdrawn or reopened, once."""

    def work(tx: UnitOfWork) -> None:
        files.update_closure_status(tx, complaint_id=event.complaint_id, status=status,
                                    at=event.occurred_at)
        files.update_status(tx, complaint_id=event.complaint_id, status=status)

    apply_once(uow, consumer=consumer, event=event, work=work)


def correct_category(uow: UnitOfWork, *, event: ComplaintUpdated, topic: str, consumer: str,
                     window: timedelta) -> None:
    """Take a corrected category and judge the evidence again against it."""
    category = event.detail.get("category") or event.detail.get("to")
    if event.change != "category_corrected" or not isinstance(category, str):
        return

    def work(tx: UnitOfWork) -> None:
        files.update_category(tx, complaint_id=event.complaint_id, category=category)
        assessed = reassess(tx, complaint_id=event.complaint_id, window=window)
        if assessed is not None:
            emit(tx, topic=topic, messages=[assessed])

    apply_once(uow, consumer=consumer, event=event, work=work)


def find_file(*, principal: Principal, ticket: str) -> EvidenceFile:
    """The evidence file of a ticket the caller may see, else EvidenceNotFound."""
    evidence_file = files.get_file(ticket=ticket)
    if evidence_file is None or not access.in_scope(principal=principal,
                                                    evidence_file=evidence_file):
        raise EvidenceNotFound(ticket)
    return evidence_file


def closed_error(*, status: str) -> ComplaintClosedError:
    """The refusal for evidence on a complaint that is no longer open."""
    zh = "已撤回" if status == "withdrawn" else "已关闭"
    return ComplaintClosedError(field="ticket", rule="complaint_open",
                                message=f"the complaint is {status}; no evidence can be added",
                                message_zh=f"该投诉{zh}，不能再提交证据")
