"""Intake's wiring point: create_app() builds the service; run() serves it."""

from __future__ import annotations

from fastapi import FastAPI

from services.intake import api, handlers, loops, repository
from services.intake.config import IntakeSettings
from services.intake.models import (
    CommandReply,
    Complaint,
    ComplaintStep,
    ComplaintWait,
    MerchantTally,
    OpenComplaint,
    TicketSequence,
)
from services.intake.repository.tickets import TicketNumbers
from services.intake.service.filing import FilingDesk
from services.intake.service.reconcile import Activity
from shared.app import ServiceRuntime, create_service_app
from shared.bus import document_publisher
from shared.contracts.complaints import (
    AccountFreezeRequested,
    ComplaintFiled,
    ComplaintUpdated,
    ComplaintWithdrawn,
    FilingAcceptedCloudEvent,
    FilingRejectedCloudEvent,
)
from shared.idempotency import IdempotentResponse
from shared.runtime.serve import serve
from shared.runtime.startup import load_settings


def create_app(settings: IntakeSettings | None = None) -> FastAPI:
    """Build the intake service: runtime, subscribers, documented publishers, routes."""
    settings = settings or IntakeSettings()
    runtime = ServiceRuntime(settings=settings, documents=[
        Complaint, ComplaintStep, ComplaintWait, TicketSequence, OpenComplaint, MerchantTally, IdempotentResponse,
        CommandReply])
    activity = Activity()
    desk = FilingDesk(commits=runtime.group_commit("filing"), tallies=repository.slots.tallies(),
                      tickets=TicketNumbers())
    steps_from = handlers.register(runtime, activity, desk)
    runtime.background.append(loops.reconciler(runtime, settings, activity, steps_from))
    runtime.prepare_store.append(repository.slots.name_tally_merchants)
    runtime.prepare_store.append(repository.waits.adopt_listed_waits)
    document_publisher(runtime.broker, topic=settings.topics.intake_events,
                       messages=[ComplaintFiled, ComplaintUpdated, ComplaintWithdrawn, AccountFreezeRequested],
                       description="Complaint facts from intake, keyed by complaint id")
    document_publisher(
        runtime.broker, topic=settings.topics.intake_replies,
        messages=[FilingAcceptedCloudEvent, FilingRejectedCloudEvent],  # type: ignore[list-item]  # CloudEvents
        content_type="application/cloudevents+json",
        description="Answers to FileComplaint commands: CloudEvents 1.0 in Kafka structured mode (content-type "
                    "application/cloudevents+json, no other header), type org.complaints-suite.filing.accepted.v1 "
                    "or org.complaints-suite.filing.rejected.v1, subject and key `platform:platform_reference`. Each "
                    "names its platform, so a platform reads only its own (key prefix `<platform>:`; see "
                    "docs/architecture.md, intake). Each event's dataschema is the URL of its data's JSON Schema, "
                    "served at GET /schemas/{type}.json.")
    app = create_service_app(
        runtime=runtime, title="Complaint intake",
        description="Files complaints (受理) by HTTP and Kafka, numbers, classifies and deduplicates them, "
                    "and shows their status and timeline to callers in scope (bearer tokens).",
        routers=[api.router],
    )
    api.errors.install(app)
    app.state.desk = desk
    return app


def run() -> None:
    """Serve intake with its settings from the environment."""
    serve(create_app, load_settings(IntakeSettings))


if __name__ == "__main__":
    run()
