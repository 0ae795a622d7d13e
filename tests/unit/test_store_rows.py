"""A hot path's rows, built without a document object, are what the document itself stores."""

from datetime import UTC, datetime
from typing import Any

import pytest
from mongoengine import Document

from services.notify.models import DeliveryAttempt, PartnerEvent
from shared.ledger import ProcessedEvent
from shared.store import row

pytestmark = pytest.mark.unit

NOW = datetime(2026, 12, 7, 8, 30, tzinfo=UTC)


@pytest.mark.parametrize(("document", "values"), [
    (ProcessedEvent, {"id": "notify:evt-1", "consumer": "notify", "event_id": "evt-1", "event_type": "ComplaintFiled",
                      "processed_at": NOW}),
    (DeliveryAttempt, {"delivery_id": "d-1", "number": 1, "channel": "webhook", "started_at": NOW,
                       "status_code": 204, "latency_ms": 12, "error": None, "ok": True}),
    (DeliveryAttempt, {"delivery_id": "d-2", "number": 3, "channel": "webhook", "started_at": NOW,
                       "status_code": None, "latency_ms": 10_000, "error": "timed out after 10 s", "ok": False}),
    (PartnerEvent, {"id": "evt-1", "platform": "p-kami", "event_type": "org.complaints-suite.complaint.filed.v1",
                    "internal_type": "ComplaintFiled", "complaint_id": "c-1", "ticket": "CP-20261207-000001",
                    "occurred_at": NOW, "recorded_at": NOW, "body": "{}"}),
])
def test_a_row_is_what_its_document_stores(document: type[Document], values: dict[str, Any]) -> None:
    built = row(document, **values)
    assert built == document(**values).to_mongo().to_dict()
    document._from_son(built).validate()  # and the document reads it back as valid


def test_a_field_the_document_does_not_have_is_refused_by_name() -> None:
    with pytest.raises(TypeError, match="ProcessedEvent has no field procesed_at"):
        row(ProcessedEvent, consumer="notify", event_id="evt-1", event_type="ComplaintFiled", procesed_at=NOW)
