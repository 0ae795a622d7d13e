"""Mask contact details for other readers and scrub secrets (card numbers, keys, phones) from logs."""

import logging
import re
from collections.abc import Mapping
from typing import Any


def mask_phone(*, phone: str) -> str:
    """Keep the first 3 and last 4 digits: 13812345678 -> 138****5678."""
    digits = re.sub(r"\D", "", phone)
    prefix = "+86 " if phone.startswith("+86") and len(digits) == 13 else ("+" if phone.startswith("+") else "")
    if prefix == "+86 ":
        digits = digits[2:]
    if len(digits) < 8:
        # Too short to keep 7 digits and still hide anything.
        return prefix + "*" * max(len(digits) - 2, 1) + digits[-2:]
    return prefix + digits[:3] + "*" * (len(digits) - 7) + digits[-4:]


def mask_email(*, email: str) -> str:
    """Keep the first character of the local part and the domain: alex@example.com -> a***@example.com."""
    local, _, domain = email.rpartition("@")
    if not local:
        return "***"
    return f"{local[0] if len(local) > 1 else ''}***@{domain}"


def mask_contact(*, contact: Mapping[str, Any] | None) -> dict[str, Any]:
    """Return a copy of a contact mapping with phone and email masked."""
    masked = dict(contact or {})
    if isinstance(masked.get("phone"), str):
        masked["phone"] = mask_phone(phone=masked["phone"])
    if isinstance(masked.get("email"), str):
        masked["email"] = mask_email(email=masked["email"])
    return masked


def mask_complaint(*, complaint: Mapping[str, Any]) -> dict[str, Any]:
    """Return a copy of a complaint document whose complainant contact is masked."""
    masked = dict(complaint)
    complainant = complaint.get("complainant")
    if isinstance(complainant, Mapping):
        masked["complainant"] = {**complainant, "contact": mask_contact(contact=complainant.get("contact"))}
    return masked


# Order matters: card numbers before phones (a phone-like run can sit inside a spaced card number),
# and the card-key shapes last so their digits are not half-eaten first.
_SECRETS = (
    # Card numbers: 13-19 digits in one run, in groups of four, or Amex-style 4-6-5.
    (re.compile(
        r"(?<![A-Za-z0-9+])(?:\d{13,19}|\d{4}(?:[ -]\d{4}){2,3}(?:[ -]?\d{1,3})?|\d{4}[ -]\d{6}[ -]\d{5})(?!\d)"
    ), "[card-number]"),
    (re.compile(r"(?<!\d)(?:\+?86[ -]?)?1[3-9]\d(?:[ -]?\d){8}(?!\d)"), "[phone]"),
    (re.compile(r"[^\s@]+@[^\s@]+\.[A-Za-z]{2,}"), "[email]"),
    # Card keys: upper-case groups joined by dashes (ABCD-EFGH-1234) or one long token mixing at
    # least four letters and four digits; order numbers such as KM202611200001 stay readable.
    (re.compile(r"\b[A-Z0-9]{4,6}(?:-[A-Z0-9]{4,6}){2,}\b"), "[card-key]"),
    (re.compile(r"\b(?=(?:[A-Za-z0-9]*\d){4})(?=(?:[A-Za-z0-9]*[A-Za-z]){4})[A-Za-z0-9]{12,}\b"), "[card-key]"),
)


def redact_text(*, text: str) -> str:
    """Replace card keys, card numbers, phone numbers and emails in free text by placeholders."""
    for pattern, placeholder in _SECRETS:
        text = pattern.sub(placeholder, text)
    return text


class RedactingFilter(logging.Filter):
    """Logging filter that redacts the formatted message, so secrets never reach a handler."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = redact_text(text=record.getMessage())
        record.args = None
        return True
