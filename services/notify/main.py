"""Notify's wiring point: create_app() builds the service; run() serves it."""

from __future__ import annotations

from datetime import timedelta

from fastapi import FastAPI

from services.notify import api, handlers
from services.notify.api.webhook_docs import webhooks_and_schemas
from services.notify.config import NotifySettings
from services.notify.loops import WEBHOOK_QUEUE_GAUGES, DeliveryWorker, reminder_sweep, webhook_queue
from services.notify.models import (
    ComplaintRecipients,
    DeliveryAttempt,
    DeliveryLog,
    Notification,
    ParkedEvent,
    PartnerEvent,
    RecipientProfile,
    Reminder,
    Subscription,
)
from services.notify.service.handoff import Handoff
from services.notify.service.subscriptions import LiveEndpoints
from shared.app import ServiceRuntime, create_service_app
from shared.bus import document_publisher
from shared.contracts.notify import ComplaintStatusCloudEvent, NotificationSent
from shared.runtime.serve import serve
from shared.runtime.startup import load_settings
from shared.schema_routes import router as schema_router

DOCUMENTS = [ComplaintRecipients, RecipientProfile, ParkedEvent, Notification, DeliveryAttempt, DeliveryLog,
             Subscription, Reminder, PartnerEvent]


def create_app(settings: NotifySettings | None = None) -> FastAPI:
    """Build the notify service: runtime, subscribers, worker and sweep, documented publishers, routes."""
    settings = settings or NotifySettings()
    runtime = ServiceRuntime(settings=settings, documents=DOCUMENTS)
    endpoints = LiveEndpoints()  # each platform's live webhook subscriptions, kept for a while
    worker = DeliveryWorker(settings=settings, on_delivered=runtime.relay.wake,
                            outcomes=runtime.group_commit("delivery-outcomes"), meter=runtime.metrics.meter)
    runtime.metrics.gauges(webhook_queue(), WEBHOOK_QUEUE_GAUGES)
    handoff = Handoff(lease=timedelta(seconds=settings.delivery_lease_s), give=worker.accept,
                      give_early=worker.accept_early, token=worker.handoff_token)
    # What the handlers record for webhooks is handed to the worker: they wake only the other channels.
    handlers.register(runtime, settings=settings, endpoints=endpoints, wake_worker=worker.wake_unhanded,
                      handoff=handoff)
    runtime.background.extend([worker.run, reminder_sweep(runtime, settings=settings, worker=worker,
                                                          endpoints=endpoints)])
    document_publisher(runtime.broker, topic=settings.topics.notify_events, messages=[NotificationSent],
                       description="Notification facts (one per delivered notification), keyed by complaint id")
    document_publisher(
        runtime.broker, topic=settings.topics.public_status,
        messages=[ComplaintStatusCloudEvent],  # type: ignore[list-item]  # a CloudEvent, not an envelope
        key="The complaint id (the CloudEvent's complaint_id): one complaint's records keep their order",
        content_type="application/cloudevents+json",
        description="Partner-facing complaint status: CloudEvents 1.0 in Kafka structured mode (content-type "
                    "application/cloudevents+json, no other header), key = complaint id. The first record of a "
                    "complaint is its filing (from_state null, to_state filed), then one record per change of state "
                    "(type org.complaints-suite.complaint.status_changed.v1), and freeze requests (type "
                    "org.complaints-suite.freeze.requested.v1, one per complaint). Each event's dataschema is the "
                    "URL of its data's JSON Schema, served at GET /schemas/{type}.json (codes only, no PII).")
    webhooks, webhook_schemas = webhooks_and_schemas()
    app = create_service_app(
        runtime=runtime, title="Complaint notify",
        description="Tells every party what happened to a complaint, exactly once: email, SMS, in-app, "
                    "signed webhooks, and a public CloudEvents status topic.",
        routers=[api.inbox_router, api.subscriptions_router, api.events_router, schema_router],
        openapi_webhooks=webhooks, openapi_components=webhook_schemas,
    )
    app.state.worker, app.state.endpoints = worker, endpoints
    return app


def run() -> None:
    """Serve notify with its settings from the environment."""
    serve(create_app, load_settings(NotifySettings))


if __name__ == "__main__":
    run()
