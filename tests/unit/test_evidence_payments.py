"""Cross-checking a payment proof against the record a payment channel published."""

import json
from pathlib import Path

import pytest

from services.evidence.domain.errors import FieldsError
from services.evidence.domain.kinds import PaymentProofFields, parse_fields
from services.evidence.domain.payments import CheckOutcome, cross_check, parse_payment_record

pytestmark = pytest.mark.unit

DATA = Path(__file__).parents[1] / "data" / "evidence"


def _load(name: str, **changes) -> dict:
    return {**json.loads((DATA / name).read_text(encoding="utf-8")), **changes}


def _proof(**changes) -> PaymentProofFields:
    fields = parse_fields(kind="payment_proof", fields=_load("payment_proof.json", **changes))
    assert isinstance(fields, PaymentProofFields)
    return fields


def _check(proof: PaymentProofFields, **record_changes):
    record = parse_payment_record(data=_load("payment_record.json", **record_changes))
    return cross_check(proof=proof, record=record)


def test_matching_record_confirms_the_proof():
    result = _check(_proof())
    assert result.outcome is CheckOutcome.CONFIRMED
    assert result.differences == []


def test_record_saying_refunded_contradicts_a_proof_of_payment():
    result = _check(_proof(), status="refunded")
    assert result.outcome is CheckOutcome.MISMATCHED
    assert [(d.field, d.proof, d.record) for d in result.differences] == [
        ("status", "paid", "refunded")]


def test_closing_notice_agrees_with_a_closed_record():
    proof = _proof(notice_type="channel_closing_notice")
    assert _check(proof, status="closed").outcome is CheckOutcome.CONFIRMED
    assert _check(proof, status="paid").outcome is CheckOutcome.MISMATCHED


def test_every_differing_field_is_listed():
    result = _check(_proof(), amount_minor=290, currency="USD", order_number="FK0",
                    occurred_at="2024-04-20T00:00:00Z")
    by_field = {d.field: d for d in result.differences}
    assert set(by_field) == {"amount", "currency", "order_number", "time"}
    assert (by_field["amount"].proof, by_field["amount"].record) == ("29.00 CNY", "2.90 USD")


def test_a_record_with_bad_fields_is_refused_naming_them():
    with pytest.raises(FieldsError) as caught:
        parse_payment_record(data=_load("payment_record.json", status="maybe", currency="yuan"))
    assert {p.field for p in caught.value.problems} == {"status", "currency"}
