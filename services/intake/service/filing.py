"""Filing a complaint: classify, prioritise, number, deduplicate; one transaction with its events."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from pymongo import ReturnDocument
from pymongo.errors import DuplicateKeyError

from services.intake.config import IntakeSettings
from services.intake.domain.classify import resolve_category
from services.intake.domain.dedup import dedup_key
from services.intake.domain.priority import assess_priority, requires_account_freeze
from services.intake.domain.schemas import NewComplaint
from services.intake.models import Complaint, ComplaintWait, OpenComplaint, TicketSequence
from services.intake.service import slots
from services.intake.service.records import build_complaint, filed_event, freeze_event, waits_of
from shared.envelope import utcnow
from shared.outbox import emit
from shared.store import GroupCommit, GroupRead, UnitOfWork, database

SHANGHAI = ZoneInfo("Asia/Shanghai")
ATTEMPTS = 5


@dataclass(frozen=True)
class Filing:
    """The complaint a filing ended with, and whether it had been filed before."""

    complaint: Complaint
    already_existed: bool


#: Stores the answer to the request in the filing's transaction; a DuplicateKeyError means
#: another copy of the same request answered first.
Answer = Callable[[UnitOfWork, Filing], None]


class AnswerExists(Exception):
    """Another copy of the request (same Idempotency-Key or platform reference) was answered first."""


class TicketNumbers:
    """Ticket numbers of the day (Asia/Shanghai), unique across instances.

    The day's counter in the store is one document every filing would otherwise update, one
    round-trip each; an instance reserves `block` numbers at a time instead and hands them out in
    order. Numbers stay unique and increase within an instance; with several instances they
    interleave, and an instance that stops leaves the rest of its block unused."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counter: tuple[str, str] | None = None  # (database, day) the block was reserved from
        self._next = self._end = 0

    def next(self, *, prefix: str, now: datetime, block: int = 1) -> str:
        """The next number, e.g. CP-20261123-000042."""
        day = f"{prefix}-{now.astimezone(SHANGHAI).strftime('%Y%m%d')}"
        counter = (database().name, day)
        with self._lock:
            if counter != self._counter or self._next >= self._end:
                last = _reserve(day=day, count=block)
                self._counter, self._next, self._end = counter, last - block + 1, last + 1
            number, self._next = self._next, self._next + 1
        return f"{day}-{number:06d}"


def _reserve(*, day: str, count: int) -> int:
    """Add `count` to the day's counter atomically; the last number reserved."""
    # findAndModify: the only atomic increment-and-read outside a transaction. On the embedded store
    # it reads the whole collection (see UnitOfWork.update_before), which holds one counter per day.
    for _ in range(ATTEMPTS):
        try:
            doc = database()[TicketSequence._get_collection_name()].find_one_and_update(
                {"_id": day}, {"$inc": {"value": count}}, upsert=True, return_document=ReturnDocument.AFTER,
            )
        except DuplicateKeyError:
            continue  # two first-of-the-day upserts raced; the counter exists now
        # Racing first-of-the-day upserts can also come back empty: skipping numbers is fine,
        # reusing one is not (the unique ticket index would refuse it anyway).
        if doc is not None:
            return int(doc["value"])
    raise RuntimeError(f"could not allocate a ticket number after {ATTEMPTS} attempts")


@dataclass(frozen=True)
class FilingDesk:
    """What filings of one intake process share, built once by its wiring point (main.py)."""

    #: Filings of concurrent requests share a commit when they queue up for one (see GroupCommit).
    commits: GroupCommit
    #: Concurrent filings ask for their merchants' open counts together (see slots.open_for_merchant).
    tallies: GroupRead[tuple[str, str], int]
    #: This instance's block of the day's ticket numbers.
    tickets: TicketNumbers


def _open_twin(digest: str) -> Complaint | None:
    row = database()[OpenComplaint._get_collection_name()].find_one({"_id": digest})
    return Complaint.objects(id=row["complaint_id"]).first() if row else None


def _record_answer(tx: UnitOfWork, answer: Answer | None, filing: Filing) -> None:
    if answer is None:
        return
    try:
        answer(tx, filing)
    except DuplicateKeyError as exc:
        raise AnswerExists() from exc


def file_complaint(
    uow: UnitOfWork, *, desk: FilingDesk, request: NewComplaint, settings: IntakeSettings, filed_by: dict[str, Any], source: str = "http",
    platform_reference: str | None = None, answer: Answer | None = None,
) -> Filing:
    """File once: an open twin (same complainant, platform, order, category) is returned instead."""
    category = resolve_category(complaint=request)
    digest = dedup_key(complainant_id=request.complainant.id, platform=request.platform,
                       order_number=request.order.number, category=category.category.value).digest()
    topic = settings.topics.intake_events
    for attempt in range(ATTEMPTS):
        # The open-slot insert below is guarded by a unique key, so a first filing goes straight to
        # it; only after it met an open twin is the twin looked up (its ticket number stays unused).
        twin = _open_twin(digest) if attempt else None
        if twin is not None:
            filing = Filing(complaint=twin, already_existed=True)
            if answer is not None:
                uow.transaction(lambda tx, f=filing: _record_answer(tx, answer, f))
            return filing
        priority = assess_priority(
            category=category.category, amount=request.order.amount, currency=request.order.currency,
            merchant_open_complaints=slots.open_for_merchant(desk.tallies, platform=request.platform,
                                                             merchant_id=request.merchant.id),
            high_amount=settings.high_amount_minor, high_amount_currency=settings.high_amount_currency,
            rates=settings.exchange_rates, merchant_open_limit=settings.merchant_open_limit,
        )
        now = utcnow()
        now = now.replace(microsecond=now.microsecond // 1000 * 1000)  # what the store keeps
        complaint = build_complaint(
            request=request, ticket=desk.tickets.next(prefix=settings.ticket_prefix, now=now, block=settings.ticket_block),
            now=now,
            category=category, priority=priority, digest=digest, filed_by=filed_by, source=source,
            platform_reference=platform_reference,
        )
        filing = Filing(complaint=complaint, already_existed=False)
        events = [filed_event(complaint)]
        if requires_account_freeze(category=complaint.category):
            events.insert(0, freeze_event(complaint))

        def work(tx: UnitOfWork, filing: Filing = filing, events: list[Any] = events) -> None:
            _record_answer(tx, answer, filing)
            slots.take(tx, digest=digest, complaint=filing.complaint)
            tx.add([filing.complaint])
            tx.write(ComplaintWait, waits_of(filing.complaint))
            emit(tx, topic=topic, messages=events)

        try:
            desk.commits.run(work)
            return filing
        except DuplicateKeyError:
            continue  # an open twin was filed meanwhile: the next round returns it
    raise RuntimeError(f"could not file after {ATTEMPTS} attempts: an open twin keeps changing")
