"""Notify's wiring point: create_app() builds the service; run() serves it."""

from __future__ import annotations

from fastapi import FastAPI

from services.notify import api, handlers, subscriptions_api
from services.notify.config import NotifySettings
from services.notify.models import (ComplaintRecipients, DeliveryAttempt, Notification, ParkedEvent,
                                    RecipientProfile, Reminder, Subscription)
from services.notify.worker import DeliveryWorker
from shared.app import ServiceRuntime, create_service_app
from shared.contracts.notify import ComplaintStatusCloudEvent, NotificationSent
from shared.bus import document_publisher
from shared.runtime.serve import serve

DOCUMENTS = [ComplaintRecipients, RecipientProfile, ParkedEvent, Notification, DeliveryAttempt, Subscription,
             Reminder]


def create_app(settings: NotifySettings | None = None) -> FastAPI:
    """Build the notify service: runtime, subscribers, worker, documented publishers, routes."""
    settings = settings or NotifySettings()
    runtime = ServiceRuntime(settings=settings, documents=DOCUMENTS)
    worker = DeliveryWorker(settings=settings, on_delivered=runtime.relay.wake,
                            outcomes=runtime.group_commit("delivery-outcomes"))
    handlers.register(runtime, worker=worker)
    document_publisher(runtime.broker, topic=settings.topics.notify_events, messages=[NotificationSent],
                       description="Notification facts (one per delivered notification), keyed by complaint id")
    document_publisher(
        runtime.broker, topic=settings.topics.public_status,
        messages=[ComplaintStatusCloudEvent],  # type: ignore[list-item]  # a CloudEvent, not an envelope
        description="Partner-facing complaint status changes: CloudEvents 1.0 in Kafka structured mode "
                    "(content-type application/cloudevents+json), key = complaint id, one record per change. "
                    "Data schema: urn:complaints-suite:schema:complaint-status-changed:v1 (codes only, no PII).")
    app = create_service_app(
        runtime=runtime, title="Complaint notify",
        description="Tells every party what happened to a complaint, exactly once: email, SMS, in-app, "
                    "signed webhooks, and a public CloudEvents status topic.",
        routers=[api.router, subscriptions_api.router],
    )
    app.state.worker = worker
    return app


def run() -> None:
    """Serve notify with its settings from the environment."""
    serve(create_app, NotifySettings())


if __name__ == "__main__":
    run()
