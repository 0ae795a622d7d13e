"""Intake's wiring point: create_app() builds the service; run() serves it."""

from __future__ import annotations

from fastapi import FastAPI

from services.intake import api, handlers
from services.intake.config import IntakeSettings
from services.intake.models import Complaint, TicketSequence
from shared.app import ServiceRuntime, create_service_app
from shared.contracts.complaints import AccountFreezeRequested, ComplaintFiled
from shared.messaging import document_publisher
from shared.runtime.serve import serve


def create_app(settings: IntakeSettings | None = None) -> FastAPI:
    """Build the intake service: runtime, subscribers, documented publishers, routes."""
    settings = settings or IntakeSettings()
    runtime = ServiceRuntime(settings=settings, documents=[Complaint, TicketSequence])
    handlers.register(runtime)
    document_publisher(runtime.broker, topic=settings.topics.intake_events,
                       messages=[ComplaintFiled, AccountFreezeRequested],
                       description="Complaint facts from intake, keyed by complaint id")
    return create_service_app(
        runtime=runtime, title="Complaint intake",
        description="Files complaints (受理), numbers them and shows their status and timeline.",
        routers=[api.router],
    )


def run() -> None:
    """Serve intake with its settings from the environment."""
    serve(create_app, IntakeSettings())


if __name__ == "__main__":
    run()
