"""The one concrete demand: each kind is accepted, vague wishes are refused with guidance."""

import copy
from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from services.intake.domain.demands import GUIDANCE_EN, GUIDANCE_ZH, is_actionable
from services.intake.domain.errors import validation_errors
from services.intake.domain.examples import COMPLAINT_ZH
from services.intake.domain.schemas import NewComplaint

pytestmark = pytest.mark.unit

CONTEXT = {"now": datetime(2026, 11, 23, 12, 0, tzinfo=UTC)}


def file_with(demand):
    body = copy.deepcopy(COMPLAINT_ZH)
    body["demand"] = demand
    return NewComplaint.model_validate(body, context=CONTEXT)


def refusal(demand) -> dict:
    with pytest.raises(ValidationError) as caught:
        file_with(demand)
    (entry,) = validation_errors(exc=caught.value)
    return entry


def test_full_refund_is_the_amount_paid_in_the_order_currency():
    demand = file_with({"type": "refund", "mode": "full"}).demand
    assert (demand.amount, demand.currency) == (9800, "CNY")


def test_partial_refund_keeps_its_amount():
    demand = file_with({"type": "refund", "mode": "partial", "amount": 2900, "currency": "cny"}).demand
    assert (demand.amount, demand.currency) == (2900, "CNY")


def test_triple_compensation_for_fraud():
    demand = file_with({"type": "compensation", "amount": 29400, "basis": "triple"}).demand
    assert (demand.basis, demand.amount, demand.currency) == ("triple", 29400, "CNY")


def test_reissue_and_unfreeze():
    assert file_with({"type": "reissue", "count": 1}).demand.count == 1
    assert file_with({"type": "unfreeze", "account": "game-uid-778812"}).demand.account == "game-uid-778812"


@pytest.mark.parametrize("text", [
    "退款 98 元并补偿 10 元", "补发2张有效卡密", "删除我的个人信息", "取消自动续费",
    "Refund the 98 CNY", "please reissue 1 valid key", "Cancel my subscription", "¥50 for the delay",
])
def test_other_demand_with_an_action_amount_or_count_is_accepted(text):
    assert file_with({"type": "other", "text": text}).demand.text == text


@pytest.mark.parametrize("text", [
    "给我一个说法", "给个交代", "你们看着办吧", "Give me an explanation", "I want answers!!", "fix it",
])
def test_vague_other_demand_is_refused_with_guidance(text):
    entry = refusal({"type": "other", "text": text})
    assert (entry["field"], entry["rule"]) == ("demand", "actionable_demand")
    assert GUIDANCE_EN in entry["message_en"]
    assert GUIDANCE_ZH in entry["message_zh"]


def test_bare_sentence_as_demand_is_refused_with_guidance():
    entry = refusal("给我一个说法")
    assert entry["rule"] == "actionable_demand"
    assert "补发 2 张有效卡密" in entry["message_zh"] and "reissue 2 valid keys" in entry["message_en"]


def test_full_refund_with_a_different_amount_is_refused():
    entry = refusal({"type": "refund", "mode": "full", "amount": 100})
    assert (entry["field"], entry["rule"]) == ("demand.amount", "full_refund_amount")


def test_is_actionable_reads_full_width_digits():
    assert is_actionable(text="补发１张")
    assert not is_actionable(text="给我一个说法")
