"""Category inference from zh-CN and English complaint text."""

import copy
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from services.intake.domain.classify import DEFAULT_CATEGORY, DEFAULT_CONFIDENCE, classify, resolve_category
from services.intake.domain.examples import COMPLAINT_EN, COMPLAINT_ZH
from services.intake.domain.schemas import NewComplaint

pytestmark = pytest.mark.unit

CASES = json.loads((Path(__file__).parents[1] / "data" / "intake" / "classify_cases.json").read_text("utf-8"))
CONTEXT = {"now": datetime(2026, 11, 23, 12, 0, tzinfo=UTC)}


@pytest.mark.parametrize("case", CASES, ids=lambda case: case["text"][:24])
def test_text_is_classified(case):
    result = classify(text=case["text"])
    assert result.category == case["category"]
    assert result.inferred
    assert 0.3 <= result.confidence <= 0.95
    assert any(case["keyword"].lower() in keyword for keyword in result.keywords)


def test_nothing_matches_gives_the_documented_default():
    result = classify(text="你好，请帮忙看一下 / hello, please take a look")
    assert (result.category, result.confidence, result.keywords) == (DEFAULT_CATEGORY, DEFAULT_CONFIDENCE, ())


def test_more_evidence_means_more_confidence():
    one = classify(text="卡密无效")
    two = classify(text="卡密无效，兑换码错误，显示已被使用")
    assert two.confidence > one.confidence


def test_mixed_signals_lower_confidence():
    clean = classify(text="账号被冻结")
    mixed = classify(text="账号被冻结，而且卡密无效")
    assert mixed.confidence < clean.confidence


def test_tie_goes_to_the_more_serious_category():
    assert classify(text="盗刷；客服踢皮球").category == "unauthorized-charge"


def test_filed_category_is_kept():
    complaint = NewComplaint.model_validate(copy.deepcopy(COMPLAINT_EN), context=CONTEXT)
    result = resolve_category(complaint=complaint)
    assert (result.category, result.confidence, result.inferred) == ("merchant-fraud", 1.0, False)


def test_missing_category_is_inferred_from_the_description():
    complaint = NewComplaint.model_validate(copy.deepcopy(COMPLAINT_ZH), context=CONTEXT)
    result = resolve_category(complaint=complaint)
    assert (result.category, result.inferred) == ("invalid-card-key", True)
