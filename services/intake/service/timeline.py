"""Folding other services' steps into the complaint's timeline and status."""

from __future__ import annotations

from typing import Any

from services.intake import repository
from services.intake.domain.status import FINISHED
from services.intake.models import Complaint, ComplaintStep
from shared.envelope import Event
from shared.store import UnitOfWork


def record_step(
    uow: UnitOfWork, *, event: Event, service: str, step: str, detail: dict[str, Any] | None = None,
    status: str | None = None, tier: str | None = None, changes_complaint: bool = True,
    actor: dict[str, Any] | None = None,
) -> bool | None:
    """Put another service's step on the complaint's timeline once per event id; False on a repeat.

    The step is a document of its own; the complaint changes only when the step changes what it
    shows (status, tier), and the service's first step ends the reconciler's wait for it. A
    withdrawn complaint stays withdrawn whatever arrives later, and a status change older than the
    one shown (a relay killed mid-batch holds its entries for a lease while the case moves on) is
    recorded without moving the status back; a finished one frees its dedup slot. A step that
    always comes with another which changes the complaint passes `changes_complaint=False`. In a
    consumer's group the writes go out with the group's, and None is returned.
    """
    record = ComplaintStep(id=event.event_id, complaint_id=event.complaint_id, at=event.occurred_at,
                           service=service, step=step, detail=detail or {},
                           actor=actor or {"role": "system", "id": service})
    shown = {name: value for name, value in (("status", status), ("tier", tier))
             if value is not None} if changes_complaint else {}
    return repository.steps.create_step(uow, step=record, shown=shown, ends_wait=changes_complaint,
                                        frees_slot=status in FINISHED)


def steps_of(complaint: Complaint, *, others: bool = True) -> list[dict[str, Any]]:
    """The complaint's timeline, oldest first: intake's own steps and, unless `others` is False (a
    complaint just filed has none), every other service's, read from the store."""
    return repository.steps.list_timeline(complaint=complaint, others=others)
