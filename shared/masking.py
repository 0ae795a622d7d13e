"""Masking of secrets and personal data: card keys, card numbers, passwords and phone numbers."""

from __future__ import annotations

import logging
import re
from typing import Any

# Phone numbers: mainland mobiles (1[3-9] + 9 digits) and international forms (+ and 8–15 digits),
# typed in ASCII or in the full-width digits of a Chinese input method (\d matches both), right
# after Chinese text (手机13812345678: only ASCII letters and digits before it mean it is part of an
# id), bare or grouped 3-4-4 by spaces or dashes (+86 138 1234 5678).
_PHONE = re.compile(r"(?<![A-Za-z_\d])(\+?\d{1,3}[- ]?)?([1１][3-9３-９]\d)[- ]?(\d{4})[- ]?(\d{4})(?!\d)")
# Card numbers: 13–19 digits, bare or in groups of four; not runs inside ids like CP-20261123-000001.
_CARD = re.compile(r"(?<![\d-])(?:\d{4}[ -]){3}\d{1,7}(?![\d-])|(?<![\d-])\d{13,19}(?![\d-])")
# Card keys: long runs of letters and digits with at least one digit, often dash-grouped.
_KEY = re.compile(r"\b(?=[A-Za-z0-9-]*\d)(?=[A-Za-z0-9-]*[A-Za-z])[A-Za-z0-9]{4,}(?:-[A-Za-z0-9]{4,}){2,}\b")
_SECRET_FIELD = re.compile(r"(?i)((?:password|passwd|pwd|card_?key|cvv|secret|密码|卡密)\s*[\"':=：]+\s*)"
                           r"(\"?)[^\s\",}]+")
_DIGIT = re.compile(r"\d")
_EMAIL = re.compile(r"\b([A-Za-z0-9])[A-Za-z0-9._%+-]*(@[A-Za-z0-9.-]+\.[A-Za-z]{2,})\b")


def mask_phone(phone: str | None) -> str | None:
    """138****5678: keep the first three and the last four digits."""
    if not phone:
        return phone
    digits = re.sub(r"\D", "", phone)
    if len(digits) < 7:
        return "*" * len(digits)
    return f"{digits[:3]}{'*' * (len(digits) - 7)}{digits[-4:]}"


def mask_email(email: str | None) -> str | None:
    """a***@example.com: keep the first character and the domain."""
    if not email or "@" not in email:
        return email
    local, domain = email.split("@", 1)
    return f"{local[:1]}***@{domain}"


def mask_card_number(number: str) -> str:
    """Keep the last four digits of a card number."""
    digits = re.sub(r"\D", "", number)
    return f"****{digits[-4:]}"


def scrub(text: str) -> str:
    """Mask every card key, card number, password and phone number found in free text."""
    text = _SECRET_FIELD.sub(lambda m: f"{m.group(1)}{m.group(2)}****", text)
    if not _DIGIT.search(text):
        return text  # every card key, card number and phone number holds a digit: nothing more to find
    text = _KEY.sub(lambda m: f"****{m.group(0)[-4:]}", text)
    text = _CARD.sub(lambda m: mask_card_number(m.group(0)), text)
    text = _PHONE.sub(lambda m: f"{m.group(2)}****{m.group(4)}", text)
    return text


class ScrubbingFilter(logging.Filter):
    """A logging filter that masks secrets in every record's rendered message."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except (TypeError, ValueError):
            return True
        record.msg, record.args = scrub(message), None
        return True


#: Identifiers this system mints (random hex, ticket numbers): nobody types them, so they hold no
#: secret, but their hex can hold a digit run that looks like a card or phone number. Masking one
#: would hand the reader an id that names nothing.
SYSTEM_IDS = frozenset({"complaint_id", "trace_id", "span_id", "parent_span_id", "event_id", "ticket"})


def scrub_deep(value: Any) -> Any:
    """A copy of a JSON-like value with every string scrubbed (for readers other than the owner),
    except the system's own identifiers (SYSTEM_IDS), which are returned whole."""
    if isinstance(value, str):
        return scrub(value)
    if isinstance(value, dict):
        return {k: v if k in SYSTEM_IDS and isinstance(v, str) else scrub_deep(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [scrub_deep(v) for v in value]
    return value
