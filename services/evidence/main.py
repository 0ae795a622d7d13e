"""Evidence's wiring point: create_app() builds the service; run() serves it."""

from __future__ import annotations

from fastapi import FastAPI

from services.evidence import api, handlers
from services.evidence.config import EvidenceSettings
from services.evidence.models import EvidenceFile
from shared.app import ServiceRuntime, create_service_app
from shared.contracts.evidence import EvidenceFileOpened
from shared.messaging import document_publisher
from shared.runtime.serve import serve


def create_app(settings: EvidenceSettings | None = None) -> FastAPI:
    """Build the evidence service: runtime, subscribers, documented publishers, routes."""
    settings = settings or EvidenceSettings()
    runtime = ServiceRuntime(settings=settings, documents=[EvidenceFile])
    handlers.register(runtime)
    document_publisher(runtime.broker, topic=settings.topics.evidence_events,
                       messages=[EvidenceFileOpened],
                       description="Evidence facts, keyed by complaint id")
    return create_service_app(
        runtime=runtime, title="Complaint evidence",
        description="Stores evidence (证据链), proves it unaltered and judges it.",
        routers=[api.router],
    )


def run() -> None:
    """Serve evidence with its settings from the environment."""
    serve(create_app, EvidenceSettings())


if __name__ == "__main__":
    run()
