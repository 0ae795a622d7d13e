"""Masked contacts for other readers and secrets scrubbed from log lines."""

import logging

import pytest

from services.intake.domain.redact import (
    RedactingFilter, mask_complaint, mask_contact, mask_email, mask_phone, redact_text,
)

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(("phone", "masked"), [
    ("13812345678", "138****5678"),
    ("+8613812345678", "+86 138****5678"),
    ("+447911123456", "+447*****3456"),
    ("12345", "***45"),
])
def test_mask_phone(phone, masked):
    assert mask_phone(phone=phone) == masked


def test_mask_email():
    assert mask_email(email="alex@example.com") == "a***@example.com"
    assert mask_email(email="a@example.com") == "***@example.com"


def test_mask_complaint_leaves_the_original_alone():
    complaint = {"complainant": {"id": "u-1", "contact": {"phone": "13812345678", "email": "alex@example.com"}}}
    masked = mask_complaint(complaint=complaint)
    assert masked["complainant"]["contact"] == {"phone": "138****5678", "email": "a***@example.com"}
    assert complaint["complainant"]["contact"]["phone"] == "13812345678"
    assert mask_contact(contact=None) == {}


def test_redact_text_hides_secrets_and_keeps_the_story():
    line = ("卡密 ABCD-EFGH-1234-5678 卡号6222021234567890 手机 13812345678 邮箱 alex@example.com "
            "key x7k2p9q4m1n8z3w5 订单 KM202611200001 金额 98 元")
    redacted = redact_text(text=line)
    for secret in ("ABCD-EFGH", "6222021234567890", "13812345678", "alex@example.com", "x7k2p9q4m1n8z3w5"):
        assert secret not in redacted
    assert "KM202611200001" in redacted and "98 元" in redacted


def test_logging_filter_redacts_arguments(caplog):
    logger = logging.getLogger("test.intake.redact")
    logger.addFilter(RedactingFilter())
    with caplog.at_level(logging.INFO, logger="test.intake.redact"):
        logger.info("card %s from %s", "4111 1111 1111 1111", "+8613812345678")
    assert caplog.messages == ["card [card-number] from [phone]"]
