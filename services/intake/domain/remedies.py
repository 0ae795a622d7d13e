"""Remedies as the law has them: 退一赔三 computed from the order, offered only where fraud is claimed."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from decimal import ROUND_CEILING, Decimal
from typing import Any

from shared.contracts.vocabulary import Category

from .currency import MINOR_UNITS
from .demands import FraudTripleDemand

# 消费者权益保护法 §55 (2013): on fraud the operator refunds the price and compensates three times
# the price; where that is under 500 CNY, 500 CNY. DOMAIN.md (corrections) counts counterfeit goods
# sold as genuine as fraud.
TRIPLE_FACTOR = 3
TRIPLE_FLOOR_MINOR = 50_000  # 500 CNY in fen (消法 §55: "不足五百元的，为五百元")
TRIPLE_FLOOR_CURRENCY = "CNY"
LAW = "消法 §55 / PRC Consumer Rights Protection Law art. 55"

#: Merchant fraud is fraud by definition; a dud key or the wrong goods only when they were counterfeit.
FRAUD_CATEGORIES = frozenset({Category.MERCHANT_FRAUD})
COUNTERFEIT_CATEGORIES = frozenset({Category.INVALID_CARD_KEY, Category.WRONG_DELIVERY})

# The complainant's own words saying the goods were counterfeit or fake (house rule: the demand's
# `counterfeit` flag or these words in the description count as the complainant's statement).
_COUNTERFEIT = re.compile(
    r"假货|假冒|假卡|假的|伪造|仿冒|盗版|山寨|冒牌|counterfeit|\bfake\b|\bforged\b|pirated|knock-?off",
    re.IGNORECASE,
)


class DemandRefused(Exception):
    """The demand cannot be filed as stated: the field, the rule, and why in English and zh-CN."""

    def __init__(self, *, field: str, rule: str, en: str, zh: str) -> None:
        super().__init__(f"{field}: {rule}")
        self.field, self.rule, self.en, self.zh = field, rule, en, zh

    def entry(self) -> dict[str, str]:
        """The refusal as one `{field, rule, message_en, message_zh}` error entry."""
        return {"field": self.field, "rule": self.rule, "message_en": self.en, "message_zh": self.zh}


def states_counterfeit(*, text: str) -> bool:
    """Tell whether the complainant's words say the goods were counterfeit or fake."""
    return bool(_COUNTERFEIT.search(unicodedata.normalize("NFKC", text)))


def _money(amount: int, currency: str) -> dict[str, Any]:
    return {"amount_minor": amount, "currency": currency}


def triple_floor(*, currency: str, rates: Mapping[str, Decimal], rate_base: str) -> int | None:
    """The 500 CNY floor in minor units of `currency`, rounded up; None without a rate.

    `rates[code]` is the price of one major unit of `code` in `rate_base` (intake's exchange-rate
    setting). Rounding up: the law says "at least 500 CNY", so the buyer never gets a fen less.
    """
    if currency == TRIPLE_FLOOR_CURRENCY:
        return TRIPLE_FLOOR_MINOR

    def in_base(code: str) -> Decimal | None:
        return Decimal(1) if code == rate_base else (Decimal(str(rates[code])) if code in rates else None)

    cny, target = in_base(TRIPLE_FLOOR_CURRENCY), in_base(currency)
    if cny is None or not target or currency not in MINOR_UNITS:
        return None
    major = Decimal(TRIPLE_FLOOR_MINOR).scaleb(-MINOR_UNITS[TRIPLE_FLOOR_CURRENCY]) * cny / target
    return int(major.scaleb(MINOR_UNITS[currency]).to_integral_value(rounding=ROUND_CEILING))


def fraud_triple(*, amount: int, currency: str, rates: Mapping[str, Decimal], rate_base: str) -> dict[str, Any]:
    """The refund (the price) and the compensation (three times it, at least 500 CNY) of 退一赔三."""
    floor = triple_floor(currency=currency, rates=rates, rate_base=rate_base)
    if floor is None:
        raise DemandRefused(
            field="order.currency", rule="fraud_triple_floor_rate",
            en=f"退一赔三 (fraud_triple) needs its 500 CNY floor in {currency}, and intake has no "
               f"{currency} exchange rate to convert it: ask for type refund_and_compensation with the "
               "amounts instead",
            zh=f"退一赔三须把 500 元下限换算为 {currency}，但系统没有 {currency} 的汇率，无法换算："
               "请改选“退款并赔偿”（refund_and_compensation）并写明金额",
        )
    triple = amount * TRIPLE_FACTOR
    compensation = max(triple, floor)
    return {
        "refund": {"mode": "full", "amount": _money(amount, currency)},
        "compensation": {"amount": _money(compensation, currency), "basis": "fraud_triple",
                         "floor_applied": compensation > triple, "law": LAW},
        "total": _money(amount + compensation, currency),
    }


def check_fraud_triple(*, demand: FraudTripleDemand, category: Category, description: str) -> bool:
    """Whether the goods were stated counterfeit; DemandRefused when 退一赔三 does not fit the category."""
    counterfeit = demand.counterfeit or states_counterfeit(text=description)
    if category in FRAUD_CATEGORIES or (category in COUNTERFEIT_CATEGORIES and counterfeit):
        return counterfeit
    where = ("merchant-fraud, or invalid-card-key / wrong-delivery when the goods were counterfeit "
             "(set demand.counterfeit to true)")
    raise DemandRefused(
        field="demand.type", rule="fraud_triple_category",
        en=f"退一赔三 (fraud_triple, {LAW}) is for fraud: category {where}; this complaint is "
           f"{category.value}. Ask for a refund and/or compensation instead (refund_and_compensation)",
        zh=f"退一赔三（消费者权益保护法第五十五条）仅适用于经营者欺诈：投诉类型为 merchant-fraud（商家欺诈），"
           f"或 invalid-card-key / wrong-delivery 且商品为假冒（请将 demand.counterfeit 设为 true）；"
           f"本投诉类型为 {category.value}。请改为要求退款和/或赔偿（refund_and_compensation）",
    )


def settle_demand(
    *, demand: Any, order: Mapping[str, Any], category: Category, description: str,
    rates: Mapping[str, Decimal], rate_base: str,
) -> dict[str, Any]:
    """The demand as stored and sent on ComplaintFiled: its parts computed where the law fixes them."""
    settled = demand.model_dump(mode="json")
    if isinstance(demand, FraudTripleDemand):
        counterfeit = check_fraud_triple(demand=demand, category=category, description=description)
        settled |= {"counterfeit": counterfeit,
                    **fraud_triple(amount=order["amount"], currency=order["currency"], rates=rates,
                                   rate_base=rate_base)}
    return settled
