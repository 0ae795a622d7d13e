"""Notify's wiring point: create_app() builds the service; run() serves it."""

from __future__ import annotations

from fastapi import FastAPI

from services.notify import api, handlers
from services.notify.config import NotifySettings
from services.notify.models import Notification
from shared.app import ServiceRuntime, create_service_app
from shared.contracts.notify import NotificationSent
from shared.messaging import document_publisher
from shared.runtime.serve import serve


def create_app(settings: NotifySettings | None = None) -> FastAPI:
    """Build the notify service: runtime, subscribers, documented publishers, routes."""
    settings = settings or NotifySettings()
    runtime = ServiceRuntime(settings=settings, documents=[Notification])
    handlers.register(runtime)
    document_publisher(runtime.broker, topic=settings.topics.notify_events,
                       messages=[NotificationSent],
                       description="Notification facts, keyed by complaint id")
    return create_service_app(
        runtime=runtime, title="Complaint notify",
        description="Tells every party what happened to a complaint, exactly once.",
        routers=[api.router],
    )


def run() -> None:
    """Serve notify with its settings from the environment."""
    serve(create_app, NotifySettings())


if __name__ == "__main__":
    run()
