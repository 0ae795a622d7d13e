"""Escalation's wiring point: create_app() builds the service; run() serves it."""

from __future__ import annotations

import sys

from fastapi import FastAPI

from services.escalation import api, handlers
from services.escalation.config import EscalationSettings
from services.escalation.domain.holiday_overrides import CalendarOverrideError
from services.escalation.domain.policy import PolicyError
from services.escalation.loops import TimerLoop
from services.escalation.models import Case, ParkedFact, Timer
from services.escalation.service.rules import load_rules
from shared.app import ServiceRuntime, create_service_app
from shared.bus import document_publisher
from shared.contracts.complaints import AccountFreezeRequested
from shared.contracts.escalation import (
    AccountFreezeConfirmed,
    CaseAssigned,
    CaseOpened,
    ComplaintEscalated,
    ComplaintStatusChanged,
    ResolutionAccepted,
    ResolutionProposed,
    ResolutionRejected,
    SlaBreached,
    SlaWarning,
)
from shared.envelope import Message
from shared.idempotency import IdempotentResponse
from shared.runtime.serve import serve
from shared.runtime.startup import load_settings

PUBLISHED: list[type[Message]] = [CaseOpened, ComplaintStatusChanged, ComplaintEscalated, CaseAssigned, SlaWarning,
             SlaBreached, ResolutionProposed, ResolutionAccepted, ResolutionRejected,
             AccountFreezeRequested, AccountFreezeConfirmed]


def create_app(settings: EscalationSettings | None = None) -> FastAPI:
    """Build the escalation service: rules (validated now), runtime, subscribers, timers, routes."""
    settings = settings or EscalationSettings()
    rules = load_rules(settings=settings)  # a broken policy or override file stops startup here
    runtime = ServiceRuntime(settings=settings, documents=[Case, Timer, ParkedFact, IdempotentResponse])
    timers = TimerLoop(runtime=runtime, rules=rules)
    handlers.register(runtime, rules=rules, wake_timers=timers.wake)
    runtime.background.append(timers.run)
    document_publisher(runtime.broker, topic=settings.topics.escalation_events, messages=PUBLISHED,
                       description="Case facts, keyed by complaint id")
    app = create_service_app(
        runtime=runtime, title="Complaint escalation",
        description="Drives each case through the escalation tiers on time.",
        routers=[api.queue_router, api.cases_router, api.analytics_router],
    )
    app.state.rules, app.state.timers = rules, timers
    return app


def run() -> None:
    """Serve escalation with its settings from the environment; a broken rule file exits with 2."""
    settings = load_settings(EscalationSettings)
    try:
        load_rules(settings=settings)
    except (PolicyError, CalendarOverrideError) as exc:
        sys.stderr.write(f"escalation cannot start: {exc}\n")
        raise SystemExit(2) from exc
    serve(create_app, settings)


if __name__ == "__main__":
    run()
