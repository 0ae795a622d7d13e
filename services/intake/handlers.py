"""Intake's subscribers: platforms' FileComplaint commands, and other services' steps on the timeline."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, cast

from services.intake import service
from services.intake.config import IntakeSettings
from services.intake.service.filing import FilingDesk
from services.intake.service.reconcile import Activity
from shared.app import ServiceRuntime
from shared.contracts.complaints import FileComplaint
from shared.contracts.escalation import CaseOpened, ComplaintStatusChanged
from shared.contracts.evidence import EvidenceFileOpened, EvidenceSubmitted
from shared.contracts.notify import NotificationSent
from shared.store import UnitOfWork


async def on_evidence_file_opened(event: EvidenceFileOpened, uow: UnitOfWork) -> None:
    """Evidence opened its file for the case."""
    await asyncio.to_thread(
        service.record_step, uow, event=event, service="evidence", step="evidence_file_opened",
        detail={"required_kinds": list(event.required_kinds)},
    )


async def on_evidence_submitted(event: EvidenceSubmitted, uow: UnitOfWork) -> None:
    """An evidence item was stored: it shows on the timeline by its number (证据N) and kind."""
    await asyncio.to_thread(
        service.record_step, uow, event=event, service="evidence", step="evidence_submitted",
        detail={"number": event.number, "label": f"证据{event.number}", "kind": event.kind,
                "evidence_id": event.evidence_id},
    )


async def on_case_opened(event: CaseOpened, uow: UnitOfWork) -> None:
    """Escalation opened the case at its first tier.

    Only the step is recorded: the status change escalation emits with every opening carries the
    same tier, and changes the complaint once for both.
    """
    detail: dict[str, Any] = {"tier": event.tier, "clocks": list(event.clocks)}
    await asyncio.to_thread(
        service.record_step, uow, event=event, service="escalation", step="case_opened",
        detail=detail, changes_complaint=False,
    )


async def on_status_changed(event: ComplaintStatusChanged, uow: UnitOfWork) -> None:
    """The case changed state: the complaint's status follows, with who moved it and by what action."""
    role = event.actor_role or "system"
    actor = {"role": role, "id": event.actor_id or ("escalation" if role == "system" else None)}
    await asyncio.to_thread(
        service.record_step, uow, event=event, service="escalation", step=f"status_{event.to_state}",
        detail={"from": event.from_state, "to": event.to_state, "reason": event.reason, "action": event.action},
        status=event.to_state, tier=event.tier, actor=actor,
    )


async def on_notification_sent(event: NotificationSent, uow: UnitOfWork) -> None:
    """Notify told someone about the complaint."""
    await asyncio.to_thread(
        service.record_step, uow, event=event, service="notify",
        step=f"notified_{event.recipient_role}",
        detail={"channel": event.channel, "recipient_role": event.recipient_role, "about": event.about_event_type},
    )


def command_handler(runtime: ServiceRuntime, desk: FilingDesk) -> Any:
    """The FileComplaint handler: the command carries no token, so it acts as its platform's partner."""

    async def on_file_complaint(command: FileComplaint, uow: UnitOfWork) -> None:
        await asyncio.to_thread(service.handle_file_complaint, uow, desk=desk, command=command,
                                settings=cast(IntakeSettings, runtime.settings))  # ServiceRuntime is not generic
        runtime.relay.wake()

    return on_file_complaint


def noting(activity: Activity, actor: str, handler: Callable[[Any, UnitOfWork], Awaitable[None]]) -> Any:
    """The handler, telling the reconciler that the actor is at work."""

    async def folded(event: Any, uow: UnitOfWork) -> None:
        await handler(event, uow)
        activity.note(actor)

    return folded


def register(runtime: ServiceRuntime, activity: Activity, desk: FilingDesk) -> dict[str, str]:
    """Subscribe intake to platforms' commands and to the topics it folds into the timeline.

    Returns the topic each acting service's steps arrive on.
    """
    topics = runtime.settings.topics
    # Not atomic: a command's writes go out in transactions of their own, each guarded by the reply's
    # unique key (a repeat is answered again). In a shared transaction, a rejection or a repeat's answer
    # written in it held the replies collection while a filing of the same poll waited on it in the
    # group commit's transaction: the poll stalled until the store's lock timeout (60 s).
    runtime.subscribe(topics.intake_commands, {FileComplaint: command_handler(runtime, desk)}, atomic=False)
    # Every write of a step may repeat (an upsert of the step, guarded updates of the complaint; a
    # finished complaint's slot is freed in a transaction of its own): a poll's steps go out without
    # one, and three topics' polls about the same complaints no longer conflict.
    runtime.subscribe(topics.evidence_events,
                      {EvidenceFileOpened: noting(activity, "evidence", on_evidence_file_opened),
                       EvidenceSubmitted: noting(activity, "evidence", on_evidence_submitted)}, atomic=False)
    runtime.subscribe(
        topics.escalation_events,
        {CaseOpened: noting(activity, "escalation", on_case_opened),
         ComplaintStatusChanged: noting(activity, "escalation", on_status_changed)}, atomic=False,
    )
    runtime.subscribe(topics.notify_events, {NotificationSent: noting(activity, "notify", on_notification_sent)},
                      atomic=False)
    return {"evidence": topics.evidence_events, "escalation": topics.escalation_events,
            "notify": topics.notify_events}
