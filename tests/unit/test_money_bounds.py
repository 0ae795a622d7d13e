"""An amount no reader keeps exact, or no store holds, is refused naming the field — never a server error."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from services.evidence.domain.payments import PaymentRecord
from shared.money import MAX_SAFE_MINOR, Money

pytestmark = pytest.mark.unit


@pytest.mark.parametrize("amount", [MAX_SAFE_MINOR + 1, 16656114838211488647217152])  # the second found by fuzzing
def test_an_amount_past_the_safe_integer_is_refused_naming_amount_minor(amount: int) -> None:
    with pytest.raises(ValidationError) as raised:
        Money(amount_minor=amount, currency="CNY")
    assert [e["loc"] for e in raised.value.errors()] == [("amount_minor",)]
    assert Money(amount_minor=MAX_SAFE_MINOR, currency="CNY").amount_minor == MAX_SAFE_MINOR


def test_a_payment_record_past_the_safe_integer_is_refused() -> None:
    fields = {"channel": "alipay", "transaction_id": "T1", "amount_minor": 2**64, "currency": "CNY",
              "status": "paid"}
    with pytest.raises(ValidationError) as raised:
        PaymentRecord(**fields)
    assert ("amount_minor",) in [e["loc"] for e in raised.value.errors()]
