"""Completeness per category, with guidance telling the complainant what to add."""

from datetime import UTC, datetime

import pytest

from services.evidence.domain.assessment import ItemToAssess, assess
from services.evidence.domain.complete import check_completeness
from services.evidence.domain.errors import EvidenceRuleError
from services.evidence.domain.kinds import EvidenceKind, SubmittedEvidence, parse_fields
from services.evidence.domain.relevant import ComplaintOrder
from services.evidence.domain.requirements import RULES, ComplaintCategory

pytestmark = pytest.mark.unit

AT = "2024-05-01T01:30:40Z"


def _item(kind: str, **fields) -> SubmittedEvidence:
    return SubmittedEvidence(kind=EvidenceKind(kind), fields=parse_fields(kind=kind, fields=fields))


def _payment(notice: str = "payment_page") -> SubmittedEvidence:
    return _item("payment_proof", channel="wechat", notice_type=notice, amount_minor=2900,
                 currency="CNY", paid_at=AT)


def _order(status: str = "success") -> SubmittedEvidence:
    return _item("order_record", order_number="FK1", status=status, item="100 点卡", ordered_at=AT)


def _problem(subtype: str) -> SubmittedEvidence:
    return _item("problem_proof", subtype=subtype)


def test_charged_no_order_without_the_channel_notice_names_it():
    result = check_completeness(category="charged-no-order",
                                items=[_payment(), _order("failed")])
    assert result.score == 67
    assert [m.code for m in result.missing] == ["channel_notice"]
    assert "exception or 'transaction closed' notice" in result.guidance_en
    assert "does not show where the money went" in result.guidance_en
    assert "交易关闭" in result.guidance_zh


def test_charged_no_order_is_complete_with_payment_notice_and_order():
    items = [_payment(), _payment("channel_closing_notice"), _order("failed")]
    result = check_completeness(category="charged-no-order", items=items)
    assert (result.score, result.missing) == (100, [])
    assert "is complete" in result.guidance_en and "已齐全" in result.guidance_zh


def test_a_closing_notice_alone_is_not_also_the_payment_proof():
    result = check_completeness(category="charged-no-order",
                                items=[_payment("channel_closing_notice"), _order("failed")])
    assert [m.code for m in result.missing] == ["payment_proof"]


def test_invalid_card_key_with_only_a_key_screenshot_asks_for_the_failure_prompt():
    result = check_completeness(category="invalid-card-key",
                                items=[_order(), _payment(), _problem("key_screenshot")])
    assert [m.code for m in result.missing] == ["key_failure_prompt"]
    assert "card key alone is not enough" in result.guidance_en
    assert "仅有卡密截图不够" in result.guidance_zh


def test_invalid_card_key_complete_with_failure_prompt():
    items = [_order(), _payment(), _problem("key_screenshot"), _problem("key_failure_prompt")]
    assert check_completeness(category="invalid-card-key", items=items).score == 100


def test_nothing_submitted_scores_zero_and_lists_everything_in_order():
    result = check_completeness(category="not-delivered", items=[])
    assert result.score == 0
    assert [m.code for m in result.missing] == ["order_record", "payment_proof",
                                                "not_received_screen"]
    assert "\n1. The order record" in result.guidance_en
    assert "\n3. 显示未到账的截图" in result.guidance_zh


def test_recommended_pieces_are_suggested_but_do_not_lower_the_score():
    result = check_completeness(category="slow-or-rude-service",
                                items=[_item("communication_log", contacted_at=AT)])
    assert result.score == 100
    assert [m.code for m in result.recommended] == ["order_record"]
    assert "Also helpful" in result.guidance_en


def test_every_category_has_required_pieces_in_both_languages():
    assert set(RULES) == set(ComplaintCategory) and len(RULES) == 10
    for rule in RULES.values():
        assert rule.required
        assert all(r.en and r.zh for r in rule.required + rule.recommended)


def test_unknown_category_is_refused():
    with pytest.raises(EvidenceRuleError, match="charged-no-order"):
        check_completeness(category="bad-vibes", items=[])


def test_assess_keeps_items_for_another_order_out_of_completeness():
    order = ComplaintOrder(order_number="FK1", amount_minor=2900, currency="CNY",
                           ordered_at=datetime(2024, 5, 1, 1, 30, tzinfo=UTC))
    items = [ItemToAssess(item_id=f"ev-{n}", number=n, kind=i.kind, fields=i.fields,
                          mime="image/png")
             for n, i in enumerate([_payment(), _payment("channel_exception_notice"),
                                    _item("order_record", order_number="FK2", status="failed",
                                          item="点卡", ordered_at=AT)], start=1)]
    result = assess(category="charged-no-order", order=order,
                    filed_at=datetime(2024, 5, 2, tzinfo=UTC), items=items)
    assert result.flagged
    assert [m.code for m in result.completeness.missing] == ["order_record"]
    assert "Evidence 3 does not match the order" in result.completeness.guidance_en
    assert "证据3与订单不符" in result.completeness.guidance_zh
