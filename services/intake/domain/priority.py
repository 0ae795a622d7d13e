"""Decide a new complaint's priority from its category, amount and the merchant's open complaints."""

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal

from shared.contracts.vocabulary import Priority

from .currency import MINOR_UNITS
from .schemas import Category

DEFAULT_HIGH_AMOUNT = 500_000  # 5,000 CNY in fen: the seeds' line for legal action
DEFAULT_HIGH_AMOUNT_CURRENCY = "CNY"
DEFAULT_MERCHANT_OPEN_LIMIT = 10
URGENT_CATEGORIES = frozenset({Category.UNAUTHORIZED_CHARGE, Category.DATA_LEAK})




@dataclass(frozen=True)
class PriorityDecision:
    """The priority and the human-readable reasons for it (empty for normal)."""

    priority: Priority
    reasons: tuple[str, ...]


def requires_account_freeze(*, category: Category | str) -> bool:
    """Tell whether filing must at once request an account freeze (unauthorized charges)."""
    return Category(category) is Category.UNAUTHORIZED_CHARGE


def to_threshold_units(
    *, amount: int, currency: str, threshold_currency: str, rates: Mapping[str, Decimal | int | str]
) -> int | None:
    """Convert minor units of `currency` into minor units of `threshold_currency`; None without a rate.

    `rates[code]` is the price of one major unit of `code` in major units of the threshold currency
    (e.g. {"USD": "7.1"} when the threshold is in CNY).
    """
    if currency == threshold_currency:
        return amount
    if currency not in rates or currency not in MINOR_UNITS or threshold_currency not in MINOR_UNITS:
        return None
    major = Decimal(amount).scaleb(-MINOR_UNITS[currency]) * Decimal(str(rates[currency]))
    return int(major.scaleb(MINOR_UNITS[threshold_currency]))


def assess_priority(
    *,
    category: Category | str,
    amount: int,
    currency: str,
    merchant_open_complaints: int = 0,
    high_amount: int = DEFAULT_HIGH_AMOUNT,
    high_amount_currency: str = DEFAULT_HIGH_AMOUNT_CURRENCY,
    rates: Mapping[str, Decimal | int | str] | None = None,
    merchant_open_limit: int = DEFAULT_MERCHANT_OPEN_LIMIT,
) -> PriorityDecision:
    """Urgent for unauthorized charges and data leaks, high for large amounts or busy merchants, else normal.

    Amounts in a currency without a rate are compared as raw minor units against `high_amount`.
    That errs towards "high" for currencies whose minor unit is worth less than a fen (JPY, KRW,
    VND) and says so in the reasons, because a missed large case costs more than an early look.
    """
    category = Category(category)
    reasons: list[str] = []
    if category in URGENT_CATEGORIES:
        reasons.append(f"category {category.value} is always urgent")
    converted = to_threshold_units(
        amount=amount, currency=currency, threshold_currency=high_amount_currency, rates=rates or {}
    )
    if converted is None:
        if amount > high_amount:
            reasons.append(
                f"amount {amount} {currency} minor units exceeds {high_amount} "
                f"(no {currency}->{high_amount_currency} rate: raw minor units compared)"
            )
    elif converted > high_amount:
        reasons.append(f"amount {converted} {high_amount_currency} minor units exceeds {high_amount}")
    if merchant_open_complaints >= merchant_open_limit:
        reasons.append(f"merchant has {merchant_open_complaints} open complaints (limit {merchant_open_limit})")
    if category in URGENT_CATEGORIES:
        return PriorityDecision(priority=Priority.URGENT, reasons=tuple(reasons))
    return PriorityDecision(priority=Priority.HIGH if reasons else Priority.NORMAL, reasons=tuple(reasons))
