"""Structured fields per evidence kind: what a complainant may and may not submit."""

import json
from pathlib import Path

import pytest

from services.evidence.domain.errors import FieldsError, UnknownKindError
from services.evidence.domain.kinds import (
    EvidenceKind,
    PaymentNoticeType,
    PaymentProofFields,
    ProblemProofFields,
    parse_fields,
    parse_kind,
)

pytestmark = pytest.mark.unit

DATA = Path(__file__).parents[1] / "data" / "evidence"


def _proof() -> dict:
    return json.loads((DATA / "payment_proof.json").read_text(encoding="utf-8"))


def test_payment_proof_fields_are_parsed_with_times_in_utc():
    fields = parse_fields(kind="payment_proof", fields=_proof())
    assert isinstance(fields, PaymentProofFields)
    assert fields.notice_type is PaymentNoticeType.PAYMENT_PAGE
    assert fields.paid_at.isoformat() == "2024-05-01T01:30:40+00:00"
    assert (fields.amount_minor, fields.currency) == (2900, "CNY")


def test_unknown_kind_is_refused_listing_the_known_ones():
    with pytest.raises(UnknownKindError) as caught:
        parse_kind(kind="selfie")
    assert caught.value.field == "kind"
    assert "payment_proof" in caught.value.message
    assert "未知的证据类型" in caught.value.message_zh


def test_every_kind_has_a_fields_model():
    for kind in EvidenceKind:
        assert parse_kind(kind=kind.value) is kind


def test_full_card_key_in_last4_field_is_refused_with_a_clear_message():
    with pytest.raises(FieldsError) as caught:
        parse_fields(kind="problem_proof",
                     fields={"subtype": "key_failure_prompt", "card_key_last4": "AB12-CD34-EF56"})
    problem = caught.value.problems[0]
    assert problem.field == "card_key_last4"
    assert problem.rule == "card_key_last4_only"
    assert "never the full key" in problem.message
    assert "最后4位" in problem.message_zh


def test_last4_keeps_only_the_four_characters():
    fields = parse_fields(kind="problem_proof",
                          fields={"subtype": "key_screenshot", "card_key_last4": " 7QZ2 "})
    assert isinstance(fields, ProblemProofFields)
    assert fields.card_key_last4 == "7QZ2"


def test_a_field_the_kind_does_not_have_is_refused_so_no_key_slips_in():
    with pytest.raises(FieldsError) as caught:
        parse_fields(kind="problem_proof",
                     fields={"subtype": "key_screenshot", "card_key": "AB12CD34EF56"})
    assert [p.field for p in caught.value.problems] == ["card_key"]
    assert caught.value.problems[0].rule == "extra_forbidden"


def test_each_broken_rule_is_named_by_field():
    bad = {**_proof(), "amount_minor": 29.5, "currency": "RMB", "paid_at": "2024-05-01T09:30:40"}
    del bad["channel"]
    with pytest.raises(FieldsError) as caught:
        parse_fields(kind="payment_proof", fields=bad)
    by_field = {p.field: p for p in caught.value.problems}
    assert set(by_field) == {"channel", "amount_minor", "currency", "paid_at"}
    assert "use CNY" in by_field["currency"].message
    assert by_field["paid_at"].rule == "timezone_aware"
    assert by_field["channel"].message_zh == "必填字段缺失"


def test_order_record_needs_amount_and_currency_together():
    with pytest.raises(FieldsError) as caught:
        parse_fields(kind="order_record",
                     fields={"order_number": "FK1", "status": "failed", "item": "100 点卡",
                             "ordered_at": "2024-05-01T01:30:12Z", "amount_minor": 2900})
    assert caught.value.rule == "amount_with_currency"


def test_communication_log_keeps_agent_and_ticket():
    fields = parse_fields(kind="communication_log",
                          fields={"contacted_at": "2024-05-01T03:00:00Z", "medium": "ticket",
                                  "agent_id": "kf-027", "ticket_number": "T-88231",
                                  "promise": "24 小时内补发"})
    assert (fields.agent_id, fields.ticket_number) == ("kf-027", "T-88231")


def test_fields_that_are_not_an_object_are_refused():
    with pytest.raises(FieldsError) as caught:
        parse_fields(kind="other", fields=["not", "an", "object"])  # type: ignore[arg-type]
    assert caught.value.field == "fields"
