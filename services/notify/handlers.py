"""Notify's subscribers: every event of intake, evidence and escalation that someone must hear about."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from services.notify.config import NotifySettings
from services.notify.service import events
from services.notify.service.handoff import Handoff
from services.notify.service.subscriptions import LiveEndpoints
from shared.app import ServiceRuntime
from shared.contracts.complaints import AccountFreezeRequested, ComplaintFiled, ComplaintWithdrawn
from shared.contracts.escalation import (
    AccountFreezeConfirmed,
    CaseAssigned,
    ComplaintEscalated,
    ComplaintStatusChanged,
    ResolutionProposed,
    SlaBreached,
    SlaWarning,
)
from shared.contracts.evidence import EvidenceAssessed
from shared.envelope import Event
from shared.store import UnitOfWork

ESCALATION_EVENTS: list[Any] = [CaseAssigned, ComplaintStatusChanged, ComplaintEscalated, SlaWarning,
                                SlaBreached, ResolutionProposed, AccountFreezeRequested, AccountFreezeConfirmed]


def register(runtime: ServiceRuntime, *, settings: NotifySettings, endpoints: LiveEndpoints,
             wake_worker: Callable[[], None], handoff: Handoff | None = None) -> None:
    """Subscribe notify to the three event topics; what they record wakes the delivery worker (and
    their webhook deliveries are handed to it, with a `handoff`)."""

    def subscribe(topic: str, types: list[Any]) -> None:
        # Plain, not async: the consumer runs a group's handlers in one worker thread (shared.bus.handling).
        def on_event(event: Event, uow: UnitOfWork) -> None:
            if not events.handle_event(uow, event=event, settings=settings, endpoints=endpoints, handoff=handoff):
                return
            # What a handler recorded can be claimed once its transaction has committed: a shared
            # one's at its commit (a poll commits several, see shared/bus/overlap.py), else now.
            if not uow.grouped:
                wake_worker()
            elif wake_worker not in uow.after_commit:
                uow.after_commit.append(wake_worker)

        runtime.subscribe(topic, dict.fromkeys(types, on_event),
                          prepare=functools.partial(events.read_ahead, consumer=settings.service_name))

    topics = settings.topics
    # A freeze request comes from intake at filing and from escalation's routing: both are heard,
    # and told once per complaint (see events._intent_key).
    subscribe(topics.intake_events, [ComplaintFiled, ComplaintWithdrawn, AccountFreezeRequested])
    subscribe(topics.evidence_events, [EvidenceAssessed])
    subscribe(topics.escalation_events, ESCALATION_EVENTS)
