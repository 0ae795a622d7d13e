"""Dedup key: same complainant, platform, order and category is the same complaint."""

import pytest

from services.intake.domain.dedup import dedup_key
from services.intake.domain.schemas import Category

pytestmark = pytest.mark.unit


def test_same_parts_give_the_same_key_and_digest():
    a = dedup_key(complainant_id="u-1", platform="kameng", order_number=" KM1 ", category=Category.INVALID_CARD_KEY)
    b = dedup_key(complainant_id="u-1", platform="kameng", order_number="KM1", category="invalid-card-key")
    assert a == b and a.digest() == b.digest()
    assert a.as_filter() == {"complainant.id": "u-1", "platform": "kameng", "order.number": "KM1",
                             "category": "invalid-card-key"}


def test_another_category_is_another_complaint():
    a = dedup_key(complainant_id="u-1", platform="kameng", order_number="KM1", category="invalid-card-key")
    b = dedup_key(complainant_id="u-1", platform="kameng", order_number="KM1", category="refund-refused")
    assert a.digest() != b.digest()
