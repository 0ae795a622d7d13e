"""References regulators and channels gave come back whole; phone numbers, card numbers and keys stay masked."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from services.intake.api.views import complaint_view
from services.intake.domain.references import references_in, scrub_keeping_references
from services.intake.models import Complaint
from shared.auth import Principal, Role
from shared.masking import scrub

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(("text", "reference"), [
    ("已向12315投诉，12315 受理号 1234567890123，请核实", "1234567890123"),
    ("12315受理编号：1234567890123", "1234567890123"),
    ("12315 1234567890123", "1234567890123"),
    ("工单号 WO2026112000012345", "WO2026112000012345"),
    ("支付宝争议单号: 2026112022001400001", "2026112022001400001"),
    ("微信支付投诉单号 200000123456789012", "200000123456789012"),
    ("Visa chargeback case number 9876543210123 filed", "9876543210123"),
    ("case no. 1234567890123", "1234567890123"),
    ("PayPal dispute id: PP-D-1234567890123", "PP-D-1234567890123"),
    ("报案回执编号 3201062026112300123", "3201062026112300123"),
])
def test_a_labelled_reference_is_kept_whole(text, reference):
    assert reference in scrub_keeping_references(text)
    assert references_in(text=text) == [reference]


@pytest.mark.parametrize(("text", "secret"), [
    ("卡号 4111111111111111 被盗刷", "4111111111111111"),
    ("卡号 6222 0212 3456 7890 被盗刷", "6222 0212 3456 7890"),
    ("联系电话 13812345678", "13812345678"),
    ("卡密 ABCD-1234-EFGH-5678 无效", "ABCD-1234-EFGH-5678"),
    ("refund 4111111111111111 please", "4111111111111111"),
    # A label in front of a phone number, a key or a card number does not unmask it.
    ("工单号 13812345678", "13812345678"),
    ("dispute id: 4111111111111111", "4111111111111111"),
    ("case no. ABCD-1234-EFGH-5678", "ABCD-1234-EFGH-5678"),
    ("受理号 4111 1111 1111 1111", "4111 1111 1111 1111"),
])
def test_phone_numbers_card_numbers_and_keys_stay_masked(text, secret):
    masked = scrub_keeping_references(text)
    assert secret not in masked
    assert masked == scrub(text)  # exactly as masked as before


def test_a_reference_and_a_card_number_in_one_text_each_get_their_due():
    text = "卡号 6222021234567890123 被盗刷，已报 12315，受理号 1234567890123，密码: hunter2x"
    assert scrub_keeping_references(text) == "卡号 ****0123 被盗刷，已报 12315，受理号 1234567890123，密码: ****"


def test_an_agent_reads_the_12315_number_whole_and_the_card_number_masked() -> None:
    now = datetime(2026, 11, 23, 8, tzinfo=UTC)
    complaint = Complaint(
        id="c-1", ticket="CP-20261123-000001", status="filed", category="merchant-fraud", priority="normal",
        platform="kameng-example", merchant={"id": "m-1", "name": "星辰卡铺"},
        complainant={"id": "u-1", "display_name": "小王", "contact": {"phone": "13812345678"}},
        order={"number": "KM-1"}, demand={"type": "fraud_triple"}, filed_at=now, updated_at=now,
        description={"what_happened": "卡号 4111111111111111 被扣款；12315 受理号 1234567890123"},
        statements=[{"number": 1, "text": "支付宝争议单号 2026112022001400001", "added_at": now}],
        filed_by={"subject": "u-1", "role": "complainant"})
    agent = Principal(subject="agent-7", role=Role.AGENT, platform="kameng-example")
    view = complaint_view(complaint, principal=agent, timeline=[])
    told = view["description"]["what_happened"]
    assert "1234567890123" in told and "4111111111111111" not in told
    assert view["statements"][0]["text"] == "支付宝争议单号 2026112022001400001"
    assert view["complainant"]["contact"]["phone"] == "138****5678"
