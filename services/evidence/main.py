"""Evidence's wiring point: create_app() builds the service; run() serves it."""

from __future__ import annotations

from datetime import timedelta

from fastapi import FastAPI

from services.evidence import api, handlers
from services.evidence.api.body_limit import UploadSizeGuard
from services.evidence.config import EvidenceSettings
from services.evidence.loops import sweeper
from services.evidence.models import (
    ComplaintClosure,
    CustodyRecord,
    EvidenceFile,
    EvidenceItem,
    PaymentRecordDoc,
    PaymentWatch,
    StoredCardKey,
)
from shared.app import ServiceRuntime, create_service_app
from shared.bus import document_channel, document_publisher
from shared.contracts.evidence import (
    CardKeyChecked,
    EvidenceAssessed,
    EvidenceFileOpened,
    EvidenceSubmitted,
    PaymentDebitConfirmed,
    PaymentRecordMatched,
    PaymentRecordMismatched,
    PaymentRecordPublished,
)
from shared.runtime.serve import serve
from shared.runtime.startup import load_settings


def create_app(settings: EvidenceSettings | None = None) -> FastAPI:
    """Build the evidence service: runtime, subscribers, documented publishers, routes."""
    settings = settings or EvidenceSettings()
    runtime = ServiceRuntime(settings=settings, documents=[
        EvidenceFile, ComplaintClosure, EvidenceItem, CustodyRecord, PaymentRecordDoc,
        PaymentWatch, StoredCardKey])
    handlers.register(runtime)
    runtime.background.append(sweeper(interval_s=settings.orphan_sweep_interval_s,
                                      older_than=timedelta(seconds=settings.orphan_age_s),
                                      ready=lambda: runtime.store_ready))
    document_publisher(runtime.broker, topic=settings.topics.evidence_events,
                       messages=[EvidenceFileOpened, EvidenceSubmitted, EvidenceAssessed,
                                 PaymentRecordMatched, PaymentRecordMismatched, CardKeyChecked,
                                 PaymentDebitConfirmed],
                       description="Evidence facts, keyed by complaint id (card keys: last 4 "
                                   "characters only)")
    document_channel(runtime.broker, topic=settings.topics.payment_records, messages=[PaymentRecordPublished],
                     key="The payment's transaction id (transaction_id): one payment's records keep their order")
    app = create_service_app(
        runtime=runtime, title="Complaint evidence",
        description="Stores evidence (证据链), proves it unaltered and judges it.",
        routers=[api.checks_router, api.payment_records_router, api.evidence_router],
    )
    app.add_middleware(UploadSizeGuard, max_file_bytes=settings.max_file_bytes)
    return app


def run() -> None:
    """Serve evidence with its settings from the environment."""
    serve(create_app, load_settings(EvidenceSettings))


if __name__ == "__main__":
    run()
