"""Currency codes and display of integer minor-unit amounts."""

from __future__ import annotations

import re

_CODE = re.compile(r"^[A-Z]{3}$")
# ISO 4217 currencies with no minor unit; everything else here shows two decimals.
_ZERO_DECIMALS = frozenset({"JPY", "KRW", "VND", "CLP", "ISK", "UGX", "XAF", "XOF", "PYG"})
# Common mistakes on Chinese platforms that are not ISO 4217 codes.
_ALIASES = {"RMB": "CNY", "NTD": "TWD", "RMD": "CNY"}


def check_currency(*, code: str) -> str:
    """Return the upper-cased ISO 4217 code or raise ValueError naming the rule."""
    value = code.strip().upper()
    if value in _ALIASES:
        raise ValueError(f"'{code}' is not an ISO 4217 code; use {_ALIASES[value]}")
    if not _CODE.match(value):
        raise ValueError(f"'{code}' is not a three-letter ISO 4217 currency code such as CNY")
    return value


def format_amount(*, amount_minor: int, currency: str) -> str:
    """Render minor units as a decimal amount with its code, e.g. '29.00 CNY'."""
    if currency in _ZERO_DECIMALS:
        return f"{amount_minor} {currency}"
    sign = "-" if amount_minor < 0 else ""
    major, minor = divmod(abs(amount_minor), 100)
    return f"{sign}{major}.{minor:02d} {currency}"
