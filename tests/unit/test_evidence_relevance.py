"""Relevance: every item must point at the complaint's own order."""

import json
from datetime import timedelta
from pathlib import Path

import pytest

from services.evidence.domain.kinds import parse_fields
from services.evidence.domain.relevant import ComplaintOrder, check_relevance

pytestmark = pytest.mark.unit

DATA = Path(__file__).parents[1] / "data" / "evidence"
ORDER = ComplaintOrder.model_validate_json((DATA / "order.json").read_text(encoding="utf-8"))


def _proof(**changes) -> dict:
    return {**json.loads((DATA / "payment_proof.json").read_text(encoding="utf-8")), **changes}


def _mismatches(kind: str, fields: dict) -> dict[str, str]:
    found = check_relevance(fields=parse_fields(kind=kind, fields=fields), order=ORDER)
    return {m.field: m.message for m in found}


def test_matching_payment_proof_has_no_mismatch():
    assert _mismatches("payment_proof", _proof()) == {}


def test_each_mismatching_field_is_listed():
    found = _mismatches("payment_proof", _proof(order_number="FK999", amount_minor=5000,
                                                transaction_id="2024999",
                                                paid_at="2024-05-03T09:30:40+08:00"))
    assert set(found) == {"order_number", "amount_minor", "transaction_id", "paid_at"}
    assert found["amount_minor"] == "amount 50.00 CNY is not the order's 29.00 CNY"


def test_other_currency_is_a_mismatch_of_currency():
    assert "currency" in _mismatches("payment_proof", _proof(currency="USD"))


def test_paid_within_a_day_is_accepted_and_window_is_configurable():
    fields = parse_fields(kind="payment_proof", fields=_proof(paid_at="2024-05-01T20:00:00Z"))
    assert check_relevance(fields=fields, order=ORDER) == []
    narrow = check_relevance(fields=fields, order=ORDER, window=timedelta(hours=1))
    assert [m.field for m in narrow] == ["paid_at"]
    assert "1 h" in narrow[0].message and "1 小时" in narrow[0].message_zh


def test_order_numbers_compare_without_spaces_or_case():
    record = {"order_number": " fk20240501093012 ", "status": "success", "item": "100元点卡",
              "ordered_at": "2024-05-01T01:30:12Z"}
    assert _mismatches("order_record", record) == {}


def test_a_card_key_not_delivered_for_this_order_is_listed():
    found = _mismatches("problem_proof",
                        {"subtype": "key_failure_prompt", "card_key_last4": "0000"})
    assert set(found) == {"card_key_last4"}


def test_a_contact_long_before_the_order_is_not_about_it():
    found = _mismatches("communication_log", {"contacted_at": "2024-04-01T00:00:00Z"})
    assert set(found) == {"contacted_at"}


def test_kinds_without_order_data_are_always_relevant():
    assert _mismatches("platform_rule", {"clause": "无效卡密全额退款"}) == {}
