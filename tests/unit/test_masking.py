"""Secrets never reach logs: card keys, card numbers, passwords and phone numbers are masked."""

from __future__ import annotations

import logging

import pytest

from shared.masking import ScrubbingFilter, mask_email, mask_phone, scrub, scrub_deep

pytestmark = pytest.mark.unit


def test_contact_masks_keep_just_enough_to_recognise() -> None:
    assert mask_phone("13812345678") == "138****5678"
    assert mask_email("wang.xiao@example.com") == "w***@example.com"


@pytest.mark.parametrize(
    ("text", "secret"),
    [
        ("卡密 ABCD-1234-EFGH-5678 无效", "ABCD-1234-EFGH-5678"),
        ("card 4111 1111 1111 1111 charged", "4111 1111 1111 1111"),
        ("card 4111111111111111 charged", "4111111111111111"),
        ("call me on 13812345678", "13812345678"),
        ('{"password": "hunter2"}', "hunter2"),
        ('{"pwd": "letmein"}', "letmein"),  # no digit at all
        ("电话 １３８１２３４５６７８", "１３８１２３４５６７８"),  # full-width, as a Chinese input method types it
        ("卡密：XK29QP7H", "XK29QP7H"),
        ("手机13812345678联系", "12345678"),  # right after Chinese text
        ("call +86 138 1234 5678 today", "1234 5678"),  # grouped 3-4-4
        ("手机号：138-1234-5678", "1234-5678"),
    ],
)
def test_scrub_masks_each_kind_of_secret(text: str, secret: str) -> None:
    assert secret not in scrub(text)


def test_ticket_numbers_and_amounts_stay_readable() -> None:
    text = "GET /v1/complaints/CP-20261123-000001 amount 10000 CNY"
    assert scrub(text) == text


def test_the_log_filter_masks_rendered_messages(caplog: pytest.LogCaptureFixture) -> None:
    logger = logging.getLogger("test.masking")
    logger.addFilter(ScrubbingFilter())
    with caplog.at_level(logging.INFO, logger="test.masking"):
        logger.info("complainant phone %s", "13812345678")
    assert "13812345678" not in caplog.text
    assert "138****5678" in caplog.text


# A complaint id whose hex holds a 16-digit run that passes for a card number.
MINTED_ID = "df4b34abcd4111111111111111abcdef"


def test_the_systems_own_ids_come_back_whole_while_what_people_typed_is_masked() -> None:
    assert scrub(MINTED_ID) != MINTED_ID  # scrubbed as free text, the id would name nothing
    view = {"complaint_id": MINTED_ID, "ticket": "CP-20261203-000001", "complainant_id": "13812345678",
            "history": [{"event_id": MINTED_ID, "reason": "card 4111111111111111 was charged"}]}
    seen = scrub_deep(view)
    assert seen["complaint_id"] == MINTED_ID and seen["history"][0]["event_id"] == MINTED_ID
    assert seen["ticket"] == "CP-20261203-000001"
    assert "4111111111111111" not in seen["history"][0]["reason"]
    assert seen["complainant_id"] == "138****5678"  # platforms' ids can be phone numbers: still masked


def test_a_case_shows_its_complaint_id_whole_so_events_about_it_can_be_matched() -> None:
    from services.escalation.config import EscalationSettings
    from services.escalation.domain.routing import MerchantHistory
    from services.escalation.domain.terms import Category
    from services.escalation.service.opening import build_case
    from services.escalation.service.rules import load_rules
    from services.escalation.service.views import case_view
    from tests.support.escalation_cases import filed

    rules = load_rules(settings=EscalationSettings())
    event = filed(category="invalid-card-key").model_copy(update={"complaint_id": MINTED_ID})
    case, _, _ = build_case(event=event, rules=rules, category=Category.INVALID_CARD_KEY, history=MerchantHistory())
    assert case_view(doc=case.to_mongo().to_dict(), rules=rules)["complaint_id"] == MINTED_ID


def test_stored_spans_keep_topic_and_database_names_and_mask_what_people_typed() -> None:
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    from shared.telemetry import span_document

    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    with provider.get_tracer("test").start_as_current_span("publish") as span:
        # A deployment's prefix that scrubbing would take for a card key (****prod).
        span.set_attributes({"messaging.destination.name": "tenant-2026-prod.complaints.intake.events",
                             "db.name": "tenant-2026-prod",
                             "messaging.kafka.message.key": "13812345678", "note": "卡密 ABCD-1234-EFGH-5678"})
    (stored,) = [span_document(s) for s in exporter.get_finished_spans()]
    attributes = stored["attributes"]
    assert scrub("tenant-2026-prod") != "tenant-2026-prod"
    # Configuration, not what people typed: stored as it is.
    assert attributes["messaging_destination_name"] == "tenant-2026-prod.complaints.intake.events"
    assert attributes["db_name"] == "tenant-2026-prod"
    assert attributes["messaging_kafka_message_key"] == "138****5678"  # a partner's reference may be a phone
    assert "ABCD-1234-EFGH-5678" not in attributes["note"]
