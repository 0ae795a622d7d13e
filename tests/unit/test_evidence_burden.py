"""The merchant's burden, the issuer's and the channel's word in the verdict, new kinds' fields."""

from datetime import UTC, datetime

import pytest

from services.evidence.domain.burden import is_software_licence, merchant_side
from services.evidence.domain.complete import check_completeness
from services.evidence.domain.errors import FieldsError
from services.evidence.domain.kinds import EvidenceKind, SubmittedEvidence, parse_fields
from services.evidence.domain.payments import PaymentRecord, matches_order
from services.evidence.domain.relevant import ComplaintOrder, check_relevance
from services.evidence.domain.requirements import ChannelFacts

pytestmark = pytest.mark.unit

AT = "2024-05-01T01:30:40Z"


def _item(kind: str, **fields) -> SubmittedEvidence:
    return SubmittedEvidence(kind=EvidenceKind(kind), fields=parse_fields(kind=kind, fields=fields))


def _channel(status: str) -> ChannelFacts:
    return ChannelFacts(source="alipay", transaction_id="T1", record_status=status)


def _missing(category: str, items: list[SubmittedEvidence], status: str | None) -> list[str]:
    result = check_completeness(category=category, items=items,
                                channel=_channel(status) if status else None)
    return [m.code for m in result.missing]


def test_the_channels_record_of_a_debit_is_its_notice_and_the_payment_proof():
    assert _missing("charged-no-order", [], None) == [
        "payment_proof", "channel_notice", "order_record"]
    assert _missing("charged-no-order", [], "paid") == ["order_record"]
    # Closed traces the money but does not show it taken; failed or pending says nothing of it.
    assert _missing("charged-no-order", [], "closed") == ["payment_proof", "order_record"]
    assert _missing("charged-no-order", [], "failed") == [
        "payment_proof", "channel_notice", "order_record"]
    assert _missing("unauthorized-charge", [], "paid") == ["freeze_report"]


def test_a_key_the_issuer_reports_used_goes_with_the_key_as_its_failure_prompt():
    shot = _item("problem_proof", subtype="key_screenshot")
    base = [_item("order_record", order_number="FK1", status="success", item="点卡",
                  ordered_at=AT),
            _item("payment_proof", channel="wechat", notice_type="payment_page",
                  amount_minor=2900, currency="CNY", paid_at=AT)]
    assert _missing("invalid-card-key", [*base, shot], None) == ["key_failure_prompt"]
    for status, left in (("used", []), ("valid", ["key_failure_prompt"]),
                         ("unknown", ["key_failure_prompt"])):
        checked = SubmittedEvidence(kind=shot.kind, fields=shot.fields, card_key_status=status)
        assert _missing("invalid-card-key", [*base, checked], None) == left


def test_a_police_receipt_is_recommended_for_fraud_and_data_leaks_and_needs_its_number():
    for category in ("unauthorized-charge", "data-leak"):
        result = check_completeness(category=category, items=[])
        assert "police_receipt" in [r.code for r in result.recommended]
    receipt = _item("police_receipt", police_station="文新派出所", receipt_number="R-1",
                    reported_at=AT)
    result = check_completeness(category="data-leak", items=[receipt])
    assert "police_receipt" not in [r.code for r in result.recommended]
    with pytest.raises(FieldsError) as refused:
        parse_fields(kind="police_receipt", fields={"police_station": "文新派出所",
                                                    "reported_at": AT})
    assert [(p.field, p.rule) for p in refused.value.problems] == [("receipt_number", "missing")]


def test_software_licences_are_told_by_the_words_of_the_goods():
    assert is_software_licence(texts=["Windows 11 专业版激活码", ""])
    assert is_software_licence(texts=["", "买的正版授权软件无法激活"])
    assert not is_software_licence(texts=["100元游戏点卡", "卡密提示已被使用"])


def test_the_merchant_must_prove_delivery_and_for_software_its_licence_source():
    delivery = _item("delivery_record", order_number="FK1", delivered_at=AT, account="u@x")
    licence = _item("licence_source", licensor="授权分销商", document="授权书")
    side = merchant_side(category="invalid-card-key", items=[], software_licence=True)
    assert (side.burden_met, [m.code for m in side.missing]) == (
        False, ["delivery_record", "licence_source"])
    side = merchant_side(category="not-delivered", items=[(4, delivery)], software_licence=False)
    assert side.burden_met is True and side.proven[0].evidence == [4]
    side = merchant_side(category="merchant-fraud", items=[(2, delivery), (3, licence)],
                         software_licence=True)
    assert side.burden_met is True and "授权来源" in side.guidance_zh
    for category in ("charged-no-order", "unauthorized-charge", "data-leak"):
        side = merchant_side(category=category, items=[], software_licence=True)
        assert (side.applies, side.burden_met, side.missing) == (False, None, [])


def test_a_delivery_record_must_name_the_complaints_order_and_come_after_it():
    order = ComplaintOrder(order_number="FK1", amount_minor=2900, currency="CNY",
                           ordered_at=datetime(2024, 5, 1, 1, 30, tzinfo=UTC))
    fits = parse_fields(kind="delivery_record", fields={
        "order_number": "fk1", "delivered_at": AT, "account": "u@x", "card_key_last4": "7Q2Z"})
    assert check_relevance(fields=fits, order=order) == []
    other = parse_fields(kind="delivery_record", fields={
        "order_number": "FK2", "delivered_at": "2024-04-01T00:00:00Z", "account": "u@x"})
    assert {m.field for m in check_relevance(fields=other, order=order)} == {
        "order_number", "delivered_at"}
    with pytest.raises(FieldsError):  # never the full key, as in problem proofs
        parse_fields(kind="delivery_record", fields={
            "order_number": "FK1", "delivered_at": AT, "account": "u@x",
            "card_key_last4": "ABCD-EFGH-7Q2Z"})


def test_a_record_is_of_the_complaints_payment_by_transaction_or_by_order_and_amount():
    record = PaymentRecord(channel="alipay", transaction_id="T 1", order_number="FK1",
                           amount_minor=2900, currency="CNY", status="paid", occurred_at=AT)
    same = {"order_number": "FK1", "amount_minor": 2900, "currency": "CNY"}
    assert matches_order(record=record, transaction_id="T1", **same)
    assert not matches_order(record=record, transaction_id="T2", **same)
    assert matches_order(record=record, transaction_id=None, **same)
    assert not matches_order(record=record, transaction_id=None, **same | {"amount_minor": 2800})
    assert not matches_order(record=record, transaction_id=None, **same | {"currency": "USD"})


def test_every_kind_has_a_label_in_both_languages():
    from services.evidence.domain.dossier_text import KIND_LABELS

    for kind in EvidenceKind:
        zh, en = KIND_LABELS[kind.value]
        assert zh and en and zh != en
