"""Remedies as the law has them: a refund with a compensation as one demand, 退一赔三 computed from the order."""

import copy
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from pydantic import ValidationError

from services.intake.config import DEFAULT_RATES
from services.intake.domain.errors import validation_errors
from services.intake.domain.examples import COMPLAINT_ZH, REFUND_AND_DELAY_ZH
from services.intake.domain.remedies import DemandRefused, settle_demand, triple_floor
from services.intake.domain.schemas import CategoryCorrection, NewComplaint
from shared.contracts.vocabulary import Category

pytestmark = pytest.mark.unit

CONTEXT = {"now": datetime(2026, 11, 23, 12, 0, tzinfo=UTC)}


def complaint(demand, *, amount=2900, currency="CNY", **changes) -> NewComplaint:
    body = copy.deepcopy(COMPLAINT_ZH)
    body["order"] |= {"amount": amount, "currency": currency}
    body["demand"] = demand
    body |= changes
    return NewComplaint.model_validate(body, context=CONTEXT)


def refusal(demand, **kwargs) -> tuple[str, str, str]:
    with pytest.raises(ValidationError) as caught:
        complaint(demand, **kwargs)
    (entry,) = validation_errors(exc=caught.value)
    assert entry["message_en"] and entry["message_zh"] and entry["message_en"] != entry["message_zh"]
    return entry["field"], entry["rule"], entry["message_en"]


def settled(request: NewComplaint, category: Category, *, rates=DEFAULT_RATES) -> dict:
    return settle_demand(demand=request.demand, order={"amount": request.order.amount,
                                                       "currency": request.order.currency},
                         category=category, description=request.description.what_happened,
                         rates=rates, rate_base="CNY")


def test_seed_003_refund_29_and_10_for_the_delay_is_one_demand_with_two_parts():
    request = complaint(REFUND_AND_DELAY_ZH)
    assert settled(request, Category.NOT_DELIVERED) == {
        "type": "refund_and_compensation",
        "refund": {"mode": "full", "amount": {"amount_minor": 2900, "currency": "CNY"}},
        "compensation": {"amount": {"amount_minor": 1000, "currency": "CNY"}, "basis": "delay", "note": None},
    }


def test_a_partial_refund_part_keeps_its_amount_and_takes_the_order_currency():
    request = complaint({"type": "refund_and_compensation",
                         "refund": {"mode": "partial", "amount": {"amount_minor": 1500}},
                         "compensation": {"amount": {"amount_minor": 500}, "basis": "loss"}})
    demand = settled(request, Category.NOT_DELIVERED)
    assert demand["refund"]["amount"] == {"amount_minor": 1500, "currency": "CNY"}
    assert demand["compensation"]["amount"] == {"amount_minor": 500, "currency": "CNY"}


@pytest.mark.parametrize(("demand", "field", "rule"), [
    ({"refund": {"mode": "partial"}}, "demand.refund.amount", "required"),
    ({"refund": {"mode": "full", "amount": {"amount_minor": 1000}}}, "demand.refund.amount", "full_refund_amount"),
    ({"refund": {"mode": "partial", "amount": {"amount_minor": 3000}}}, "demand.refund.amount",
     "refund_exceeds_order"),
    ({"compensation": {"amount": {"amount_minor": 1000, "currency": "USD"}, "basis": "delay"}},
     "demand.compensation.amount.currency", "currency_mismatch"),
    ({"compensation": {"amount": {"amount_minor": 1000}, "basis": "other"}}, "demand.compensation.note", "required"),
    ({"compensation": {"amount": {"amount_minor": 8700}, "basis": "triple"}}, "demand.compensation.basis",
     "use_fraud_triple"),
    ({"compensation": {"amount": {"amount_minor": 0}, "basis": "delay"}},
     "demand.compensation.amount.amount_minor", "gt"),
], ids=["partial-without-amount", "full-with-other-amount", "refund-over-price", "other-currency",
        "other-basis-without-note", "triple-is-its-own-type", "zero-compensation"])
def test_a_bad_combined_demand_names_the_field_and_the_rule(demand, field, rule):
    combined = copy.deepcopy(REFUND_AND_DELAY_ZH) | demand
    assert refusal(combined)[:2] == (field, rule)


@pytest.mark.parametrize(("amount", "refund", "compensation", "floor_applied"), [
    (30000, 30000, 90000, False),   # 300 CNY: three times the price
    (9900, 9900, 50000, True),      # 99 CNY: three times is 297, under the 500 CNY floor
    (16667, 16667, 50001, False),   # just over the floor
])
def test_fraud_triple_is_the_price_back_plus_three_times_it_at_least_500_cny(amount, refund, compensation,
                                                                              floor_applied):
    demand = settled(complaint({"type": "fraud_triple"}, amount=amount), Category.MERCHANT_FRAUD)
    assert demand["refund"] == {"mode": "full", "amount": {"amount_minor": refund, "currency": "CNY"}}
    assert demand["compensation"]["amount"] == {"amount_minor": compensation, "currency": "CNY"}
    assert (demand["compensation"]["basis"], demand["compensation"]["floor_applied"]) == ("fraud_triple",
                                                                                        floor_applied)
    assert demand["total"] == {"amount_minor": refund + compensation, "currency": "CNY"}


def test_the_500_cny_floor_is_converted_with_the_exchange_rate_and_rounded_up_for_the_buyer():
    assert triple_floor(currency="USD", rates={"USD": Decimal("7.1")}, rate_base="CNY") == 7043  # 70.42…
    assert triple_floor(currency="JPY", rates={"JPY": Decimal("0.047")}, rate_base="CNY") == 10639
    small = settled(complaint({"type": "fraud_triple"}, amount=500, currency="USD"), Category.MERCHANT_FRAUD)
    assert small["compensation"]["amount"] == {"amount_minor": 7043, "currency": "USD"}
    large = settled(complaint({"type": "fraud_triple"}, amount=2900, currency="USD"), Category.MERCHANT_FRAUD)
    assert large["compensation"]["amount"] == {"amount_minor": 8700, "currency": "USD"}


def test_fraud_triple_in_a_currency_without_a_rate_is_refused_naming_the_field_and_rule():
    with pytest.raises(DemandRefused) as caught:
        settled(complaint({"type": "fraud_triple"}, amount=1000, currency="CHF"), Category.MERCHANT_FRAUD)
    entry = caught.value.entry()
    assert (entry["field"], entry["rule"]) == ("order.currency", "fraud_triple_floor_rate")
    assert "CHF" in entry["message_en"] and "CHF" in entry["message_zh"]


@pytest.mark.parametrize(("category", "demand", "what_happened", "counterfeit"), [
    (Category.MERCHANT_FRAUD, {"type": "fraud_triple"}, "商家虚假宣传后跑路", False),
    (Category.INVALID_CARD_KEY, {"type": "fraud_triple", "counterfeit": True}, "卡密无法使用", True),
    (Category.INVALID_CARD_KEY, {"type": "fraud_triple"}, "收到的是假卡密，根本不是官方卡", True),
    (Category.WRONG_DELIVERY, {"type": "fraud_triple"}, "The licence delivered is a counterfeit copy", True),
])
def test_fraud_triple_is_allowed_for_fraud_and_counterfeit_goods(category, demand, what_happened, counterfeit):
    request = complaint(demand, description={"what_happened": what_happened,
                                             "occurred_at": "2026-11-20T21:20:00+08:00"})
    assert settled(request, category)["counterfeit"] is counterfeit


@pytest.mark.parametrize("category", [Category.SLOW_OR_RUDE_SERVICE, Category.INVALID_CARD_KEY,
                                      Category.UNAUTHORIZED_CHARGE, Category.NOT_DELIVERED])
def test_fraud_triple_is_refused_elsewhere_naming_the_field_and_rule_in_both_languages(category):
    request = complaint({"type": "fraud_triple"}, description={
        "what_happened": "客服三天不回复消息", "occurred_at": "2026-11-20T21:20:00+08:00"})
    with pytest.raises(DemandRefused) as caught:
        settled(request, category)
    entry = caught.value.entry()
    assert (entry["field"], entry["rule"]) == ("demand.type", "fraud_triple_category")
    assert category.value in entry["message_en"] and "第五十五条" in entry["message_zh"]


def test_every_existing_demand_type_is_stored_as_before():
    for demand in ({"type": "refund", "mode": "full"}, {"type": "reissue", "count": 1},
                   {"type": "compensation", "amount": 8700, "basis": "triple"},
                   {"type": "unfreeze", "account": "game-uid-1"}, {"type": "other", "text": "删除我的个人信息"}):
        request = complaint(demand)
        assert settled(request, Category.SLOW_OR_RUDE_SERVICE) == request.demand.model_dump(mode="json")


def test_the_underscore_category_spelling_is_read_as_the_shared_hyphen_spelling():
    assert complaint({"type": "refund", "mode": "full"}, category="invalid_card_key").category == "invalid-card-key"
    assert CategoryCorrection(category="merchant_fraud").category == "merchant-fraud"
    assert refusal({"type": "refund", "mode": "full"}, category="bad_vibes")[:2] == ("category", "enum")
