"""Filing a complaint: classify, prioritise, number, deduplicate; one transaction with its events."""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from services.intake import repository
from services.intake.config import IntakeSettings
from services.intake.domain.classify import resolve_category
from services.intake.domain.dedup import dedup_key
from services.intake.domain.priority import assess_priority, requires_account_freeze
from services.intake.domain.remedies import settle_demand
from services.intake.domain.schemas import NewComplaint
from services.intake.models import Complaint
from services.intake.repository.tickets import TicketNumbers
from services.intake.service.records import build_complaint, filed_event, freeze_event
from shared.envelope import Message, utcnow
from shared.outbox import emit
from shared.store import DuplicateKey, GroupCommit, GroupRead, UnitOfWork

ATTEMPTS = 5


@dataclass(frozen=True)
class Filing:
    """The complaint a filing ended with, and whether it had been filed before."""

    complaint: Complaint
    already_existed: bool


#: Stores the answer to the request in the filing's transaction; a DuplicateKey means
#: another copy of the same request answered first.
Answer = Callable[[UnitOfWork, Filing], None]


class AnswerExists(Exception):
    """Another copy of the request (same Idempotency-Key or platform reference) was answered first."""


@dataclass(frozen=True)
class FilingDesk:
    """What filings of one intake process share, built once by its wiring point (main.py)."""

    #: Filings of concurrent requests share a commit when they queue up for one (see GroupCommit).
    commits: GroupCommit
    #: Concurrent filings ask for their merchants' open counts together (see slots.open_for_merchant
    #: in the repository).
    tallies: GroupRead[tuple[str, str], int]
    #: This instance's block of the day's ticket numbers.
    tickets: TicketNumbers


def _record_answer(tx: UnitOfWork, answer: Answer | None, filing: Filing) -> None:
    if answer is None:
        return
    try:
        answer(tx, filing)
    except DuplicateKey as exc:
        raise AnswerExists() from exc


def file_complaint(
    uow: UnitOfWork, *, desk: FilingDesk, request: NewComplaint, settings: IntakeSettings, filed_by: dict[str, Any],
    source: str = "http",
    platform_reference: str | None = None, answer: Answer | None = None,
) -> Filing:
    """File once: an open twin (same complainant, platform, order, category) is returned instead.

    DemandRefused, before anything is written, when the demand does not fit the complaint (退一赔三
    outside fraud, or without a rate for its floor).
    """
    category = resolve_category(complaint=request)
    demand = settle_demand(
        demand=request.demand, order={"amount": request.order.amount, "currency": request.order.currency},
        category=category.category, description=request.description.what_happened,
        rates=settings.exchange_rates, rate_base=settings.high_amount_currency,
    )
    digest = dedup_key(complainant_id=request.complainant.id, platform=request.platform,
                       order_number=request.order.number, category=category.category.value).digest()
    topic = settings.topics.intake_events
    for attempt in range(ATTEMPTS):
        # The open-slot insert below is guarded by a unique key, so a first filing goes straight to
        # it; only after it met an open twin is the twin looked up (its ticket number stays unused).
        twin = repository.slots.get_holder(digest=digest) if attempt else None
        if twin is not None:
            filing = Filing(complaint=twin, already_existed=True)
            if answer is not None:
                uow.transaction(functools.partial(_record_answer, answer=answer, filing=filing))
            return filing
        priority = assess_priority(
            category=category.category, amount=request.order.amount, currency=request.order.currency,
            merchant_open_complaints=repository.slots.open_for_merchant(
                desk.tallies, platform=request.platform, merchant_id=request.merchant.id),
            high_amount=settings.high_amount_minor, high_amount_currency=settings.high_amount_currency,
            rates=settings.exchange_rates, merchant_open_limit=settings.merchant_open_limit,
        )
        now = repository.complaints.as_stored(at=utcnow())
        complaint = build_complaint(
            request=request,
            ticket=desk.tickets.next(prefix=settings.ticket_prefix, now=now, block=settings.ticket_block),
            now=now,
            category=category, priority=priority, digest=digest, filed_by=filed_by, source=source,
            platform_reference=platform_reference, demand=demand,
        )
        filing = Filing(complaint=complaint, already_existed=False)
        events: list[Message] = [filed_event(complaint)]
        if requires_account_freeze(category=complaint.category):
            events.insert(0, freeze_event(complaint))

        def work(tx: UnitOfWork, filing: Filing = filing, events: list[Any] = events) -> None:
            _record_answer(tx, answer, filing)
            repository.slots.take(tx, digest=digest, complaint=filing.complaint)
            tx.add([filing.complaint])
            repository.waits.create_waits(tx, complaint=filing.complaint)
            # The reconciler re-drives a complaint's ComplaintFiled by its key (service.reconcile).
            emit(tx, topic=topic, messages=events, findable=True)

        try:
            desk.commits.run(work)
            return filing
        except DuplicateKey:
            continue  # an open twin was filed meanwhile: the next round returns it
    raise RuntimeError(f"could not file after {ATTEMPTS} attempts: an open twin keeps changing")
