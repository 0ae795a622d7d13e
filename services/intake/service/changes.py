"""Changes to a filed complaint: a further statement, a withdrawal, an agent's category correction."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

from services.intake import repository
from services.intake.domain.dedup import dedup_key
from services.intake.domain.priority import URGENT_CATEGORIES, requires_account_freeze
from services.intake.domain.references import scrub_keeping_references as scrub
from services.intake.domain.schemas import Category, NewStatement, Withdrawal
from services.intake.domain.status import FINISHED
from services.intake.models import Complaint, TimelineEntry
from services.intake.service.filing import AnswerExists
from services.intake.service.records import freeze_event
from shared.contracts.complaints import ComplaintUpdated, ComplaintWithdrawn
from shared.envelope import Message, new_id, utcnow
from shared.outbox import emit
from shared.store import DuplicateKey, UnitOfWork

#: Applies a change and its timeline entry to an open complaint; whether it did (see repository.complaints).
Change = Callable[..., bool]


class NotOpen(Exception):
    """The complaint is finished (withdrawn, resolved or closed) or changed under us."""


class OpenTwin(Exception):
    """Another open complaint already has the same complainant, order and category."""

    def __init__(self, ticket: str) -> None:
        super().__init__(ticket)
        self.ticket = ticket


def _apply(tx: UnitOfWork, complaint: Complaint, *, change: Change, step: str, detail: dict[str, Any], topic: str,
           events: list[Message], actor: dict[str, Any]) -> None:
    entry = TimelineEntry(event_id=new_id(), at=utcnow(), service="intake", step=step, detail=detail, actor=actor)
    if not change(tx, complaint_id=complaint.id, entry=entry):
        raise NotOpen(complaint.ticket)
    emit(tx, topic=topic, messages=events)


def add_statement(uow: UnitOfWork, *, complaint: Complaint, statement: NewStatement, by: str, topic: str,
                  answer: Callable[[UnitOfWork, int], None] | None = None) -> int:
    """Append the complainant's statement; returns its number. NotOpen when finished.

    `answer` stores the reply to an Idempotency-Key in the same transaction; AnswerExists when a
    copy of the request was answered first.
    """
    for _ in range(5):
        try:
            return _add_statement(uow, complaint=complaint, statement=statement, by=by, topic=topic, answer=answer)
        except NotOpen:
            complaint = repository.complaints.get_complaint_by_id(complaint_id=complaint.id)
            if complaint.status in FINISHED:
                raise
    raise NotOpen(complaint.ticket)


def _add_statement(uow: UnitOfWork, *, complaint: Complaint, statement: NewStatement, by: str, topic: str,
                   answer: Callable[[UnitOfWork, int], None] | None) -> int:
    number = len(complaint.statements) + 1
    record = {"number": number, "text": statement.text, "occurred_at": statement.occurred_at,
              "added_at": utcnow(), "by": by}
    event = ComplaintUpdated(complaint_id=complaint.id, ticket=complaint.ticket, change="statement_added",
                             detail={"number": number, "text": scrub(statement.text)})

    def work(tx: UnitOfWork) -> None:
        if answer is not None:
            try:
                answer(tx, number)
            except DuplicateKey as exc:
                raise AnswerExists() from exc
        # Two concurrent statements take different numbers: the one that finds its number taken retries.
        _apply(tx, complaint, change=partial(repository.complaints.add_statement, statement=record),
               step="statement_added", detail={"number": number}, topic=topic, events=[event],
               actor={"role": "complainant", "id": by})

    uow.transaction(work)
    return number


def withdraw_complaint(uow: UnitOfWork, *, complaint: Complaint, withdrawal: Withdrawal, topic: str,
                       by: str | None = None) -> None:
    """Withdraw an open complaint (by its complainant) and release its dedup slot. NotOpen when already finished."""
    reason = scrub(withdrawal.reason)
    event = ComplaintWithdrawn(complaint_id=complaint.id, ticket=complaint.ticket, reason=reason)

    def work(tx: UnitOfWork) -> None:
        withdrawn = {"reason": withdrawal.reason, "code": withdrawal.code.value, "at": utcnow()}
        _apply(tx, complaint, change=partial(repository.complaints.update_withdrawn, withdrawal=withdrawn),
               step="withdrawn", detail={"code": withdrawal.code.value}, topic=topic, events=[event],
               actor={"role": "complainant", "id": by or complaint.complainant["id"]})
        repository.slots.free(tx, complaint_id=complaint.id)

    uow.transaction(work)


def correct_category(
    uow: UnitOfWork, *, complaint: Complaint, category: Category, by: str, topic: str, note: str | None = None
) -> None:
    """An agent sets the category; the dedup slot moves with it. OpenTwin if that slot is taken."""
    old = complaint.category
    digest = dedup_key(complainant_id=complaint.complainant["id"], platform=complaint.platform,
                       order_number=complaint.order["number"], category=category.value).digest()
    urgent = category in URGENT_CATEGORIES
    updated = ComplaintUpdated(complaint_id=complaint.id, ticket=complaint.ticket, change="category_corrected",
                               detail={"from": old, "to": category.value, "by": by, "note": scrub(note or ""),
                                       "priority": "urgent" if urgent else complaint.priority})
    events: list[Message] = [updated]
    if requires_account_freeze(category=category) and not requires_account_freeze(category=old):
        events.append(freeze_event(complaint))
    fields = {"category": category.value, "category_inferred": False, "category_confidence": 1.0,
              "dedup_digest": digest, **({"priority": "urgent"} if urgent else {})}

    def work(tx: UnitOfWork) -> None:
        _apply(tx, complaint, change=partial(repository.complaints.update_category, old=old, fields=fields),
               step="category_corrected", detail={"from": old, "to": category.value, "by": by, "note": note or ""},
               topic=topic, events=events, actor={"role": "agent", "id": by})
        held = repository.slots.free(tx, complaint_id=complaint.id)
        try:
            repository.slots.take_again(tx, held=held, digest=digest, complaint=complaint)
        except DuplicateKey as exc:
            raise OpenTwin(ticket="") from exc

    try:
        uow.transaction(work)
    except OpenTwin as exc:
        twin = repository.slots.get_slot(digest=digest)
        raise OpenTwin(ticket=twin.ticket if twin else "") from exc
