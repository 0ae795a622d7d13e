"""Secrets never leave in a notification, and merchants never see a complainant's contact."""

import pytest

from services.notify.domain.scrub import luhn_ok, scrub

pytestmark = pytest.mark.unit


@pytest.mark.parametrize("text, secret", [
    ("卡密：X7K9P2M4Q8R1T5W3 无法使用", "X7K9P2M4Q8R1T5W3"),
    ("key ABCD-1234-EFGH-5678 says already activated", "ABCD-1234-EFGH-5678"),
    ("paid with 4111 1111 1111 1111 yesterday", "4111 1111 1111 1111"),
    ("card 6222020200112233446 was charged", "6222020200112233446"),
    ("my password: hunter2!", "hunter2!"),
    ("支付密码=886622，请勿外泄", "886622"),
    ("the card key is 88889999", "88889999"),
])
def test_secret_is_hidden(text: str, secret: str) -> None:
    assert secret not in scrub(text)
    assert "****" in scrub(text)


def test_card_number_keeps_only_last_four_digits() -> None:
    assert scrub("card 4111-1111-1111-1111") == "card ****1111"


def test_digit_runs_that_are_not_cards_stay_readable() -> None:
    # A 28-digit payment-channel trade number and a non-Luhn 16-digit number are evidence, not secrets.
    text = "trade no 4200001234202611230123456789, ref 1234567890123456"
    assert luhn_ok("1234567890123456") is False
    assert scrub(text) == text


def test_ticket_order_and_words_survive() -> None:
    text = "ticket CP-20261123-000001 order DD2026112312345678 about Authentication problems"
    assert scrub(text, keep=("CP-20261123-000001", "DD2026112312345678")) == text


def test_contacts_masked_only_when_asked() -> None:
    text = "联系 13812345678 或 alice.wang@example.com，+86 13912345678"
    assert scrub(text) == text
    masked = scrub(text, mask_contacts=True)
    assert "138****5678" in masked
    assert "a***@example.com" in masked
    assert "+86 139****5678" in masked
    assert "alice.wang" not in masked


def test_a_phone_typed_in_full_width_digits_is_masked_too() -> None:
    # A Chinese input method types full-width digits; the number is as private as in ASCII.
    assert scrub("电话１３８１２３４５６７８", mask_contacts=True) == "电话１３８****５６７８"
