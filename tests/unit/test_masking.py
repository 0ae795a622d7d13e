"""Secrets never reach logs: card keys, card numbers, passwords and phone numbers are masked."""

from __future__ import annotations

import logging

import pytest

from shared.masking import ScrubbingFilter, mask_email, mask_phone, scrub

pytestmark = pytest.mark.unit


def test_contact_masks_keep_just_enough_to_recognise() -> None:
    assert mask_phone("13812345678") == "138****5678"
    assert mask_email("wang.xiao@example.com") == "w***@example.com"


@pytest.mark.parametrize(
    ("text", "secret"),
    [
        ("卡密 ABCD-1234-EFGH-5678 无效", "ABCD-1234-EFGH-5678"),
        ("card 4111 1111 1111 1111 charged", "4111 1111 1111 1111"),
        ("card 4111111111111111 charged", "4111111111111111"),
        ("call me on 13812345678", "13812345678"),
        ('{"password": "hunter2"}', "hunter2"),
        ("卡密：XK29QP7H", "XK29QP7H"),
    ],
)
def test_scrub_masks_each_kind_of_secret(text: str, secret: str) -> None:
    assert secret not in scrub(text)


def test_ticket_numbers_and_amounts_stay_readable() -> None:
    text = "GET /v1/complaints/CP-20261123-000001 amount 10000 CNY"
    assert scrub(text) == text


def test_the_log_filter_masks_rendered_messages(caplog: pytest.LogCaptureFixture) -> None:
    logger = logging.getLogger("test.masking")
    logger.addFilter(ScrubbingFilter())
    with caplog.at_level(logging.INFO, logger="test.masking"):
        logger.info("complainant phone %s", "13812345678")
    assert "13812345678" not in caplog.text
    assert "138****5678" in caplog.text
