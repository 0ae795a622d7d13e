"""Escalation's wiring point: create_app() builds the service; run() serves it."""

from __future__ import annotations

from fastapi import FastAPI

from services.escalation import api, handlers
from services.escalation.config import EscalationSettings
from services.escalation.models import Case, Timer
from shared.app import ServiceRuntime, create_service_app
from shared.contracts.escalation import CaseOpened, ComplaintStatusChanged
from shared.messaging import document_publisher
from shared.runtime.serve import serve


def create_app(settings: EscalationSettings | None = None) -> FastAPI:
    """Build the escalation service: runtime, subscribers, documented publishers, routes."""
    settings = settings or EscalationSettings()
    runtime = ServiceRuntime(settings=settings, documents=[Case, Timer])
    handlers.register(runtime)
    document_publisher(runtime.broker, topic=settings.topics.escalation_events,
                       messages=[CaseOpened, ComplaintStatusChanged],
                       description="Case facts, keyed by complaint id")
    return create_service_app(
        runtime=runtime, title="Complaint escalation",
        description="Drives each case through the escalation tiers on time.",
        routers=[api.router],
    )


def run() -> None:
    """Serve escalation with its settings from the environment."""
    serve(create_app, EscalationSettings())


if __name__ == "__main__":
    run()
