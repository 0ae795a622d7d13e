"""Priority: urgent categories, large amounts in any currency, merchants with many open complaints."""

import pytest

from services.intake.domain.priority import Priority, assess_priority, requires_account_freeze

pytestmark = pytest.mark.unit


@pytest.mark.parametrize("category", ["unauthorized-charge", "data-leak"])
def test_fraud_and_leaks_are_urgent_even_when_small(category):
    decision = assess_priority(category=category, amount=100, currency="CNY")
    assert decision.priority is Priority.URGENT
    assert category in decision.reasons[0]


def test_only_unauthorized_charges_request_a_freeze():
    assert requires_account_freeze(category="unauthorized-charge")
    assert not requires_account_freeze(category="data-leak")


def test_above_5000_cny_is_high_and_exactly_5000_is_normal():
    assert assess_priority(category="not-delivered", amount=500_001, currency="CNY").priority is Priority.HIGH
    assert assess_priority(category="not-delivered", amount=500_000, currency="CNY").priority is Priority.NORMAL


def test_threshold_is_configurable():
    decision = assess_priority(category="refund-refused", amount=20_000, currency="CNY", high_amount=10_000)
    assert decision.priority is Priority.HIGH


def test_other_currencies_use_the_rate_table():
    rates = {"USD": "7.1", "JPY": "0.047"}
    assert assess_priority(category="not-delivered", amount=80_000, currency="USD", rates=rates).priority == "high"
    assert assess_priority(category="not-delivered", amount=60_000, currency="USD", rates=rates).priority == "normal"
    # 800,000 yen is about 37,600 CNY; 80,000 yen is about 3,760 CNY.
    assert assess_priority(category="not-delivered", amount=800_000, currency="JPY", rates=rates).priority == "high"
    assert assess_priority(category="not-delivered", amount=80_000, currency="JPY", rates=rates).priority == "normal"


def test_unknown_rate_compares_raw_minor_units_and_says_so():
    decision = assess_priority(category="not-delivered", amount=800_000, currency="KRW")
    assert decision.priority is Priority.HIGH
    assert "raw minor units" in decision.reasons[0]


def test_busy_merchant_makes_it_high():
    busy = assess_priority(category="slow-or-rude-service", amount=100, currency="CNY", merchant_open_complaints=10)
    assert busy.priority is Priority.HIGH and "10 open complaints" in busy.reasons[0]
    calm = assess_priority(
        category="slow-or-rude-service", amount=100, currency="CNY", merchant_open_complaints=3, merchant_open_limit=4
    )
    assert calm == type(calm)(priority=Priority.NORMAL, reasons=())


def test_urgent_keeps_every_reason():
    decision = assess_priority(
        category="unauthorized-charge", amount=900_000, currency="CNY", merchant_open_complaints=50
    )
    assert decision.priority is Priority.URGENT and len(decision.reasons) == 3
