"""Remedies as the law has them: the money parts of an offer, 退一赔三, and refusals that are no ground.

The figures live in the policy file (``remedies:``) with their sources; the defaults here are the
same figures, so a policy file without the section still applies the law."""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from services.escalation.domain.actions import ActionInvalid
from services.escalation.domain.states import MONEY_OUTCOMES, Outcome, Resolution
from shared.contracts.vocabulary import Category
from shared.money import Money

_C = Category


class RemedyTerms(BaseModel):
    """The policy's remedy figures (policy.yaml ``remedies:``)."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    fraud_multiple: int = Field(3, ge=1, title="Compensation as a multiple of the price (消法 §55)")
    fraud_floor: Money = Field(Money(amount_minor=50000, currency="CNY"),
                               title="Least compensation where the multiple is less (消法 §55: 500 元)")
    fraud_categories: tuple[Category, ...] = (_C.MERCHANT_FRAUD,)
    counterfeit_categories: tuple[Category, ...] = Field(
        (_C.INVALID_CARD_KEY, _C.WRONG_DELIVERY), title="Where 退一赔三 applies once the agent finds counterfeit")
    defective_goods_categories: tuple[Category, ...] = Field(
        (_C.INVALID_CARD_KEY, _C.NOT_DELIVERED, _C.WRONG_DELIVERY, _C.REFUND_REFUSED, _C.MERCHANT_FRAUD,
         _C.CHARGED_NO_ORDER), title="Goods that do not work: a 'no 7-day return' refusal is no ground here")


def is_money(resolution: Resolution | None) -> bool:
    """Whether an offer pays money (a refund, a compensation or both)."""
    return resolution is not None and (resolution.outcome in MONEY_OUTCOMES or resolution.refund is not None
                                       or resolution.compensation is not None)


def fraud_triple_amounts(*, price: Money, terms: RemedyTerms) -> tuple[Money, Money]:
    """退一赔三: the price back, plus the multiple of the price, at least the floor (same currency)."""
    compensation = price.amount_minor * terms.fraud_multiple
    if price.currency == terms.fraud_floor.currency:
        compensation = max(compensation, terms.fraud_floor.amount_minor)
    return price, Money(amount_minor=compensation, currency=price.currency)


def fraud_triple_offered(*, category: Category, terms: RemedyTerms) -> Literal["yes", "if_counterfeit", "no"]:
    """Whether the case may have 退一赔三: fraud always, counterfeit-prone categories once found so."""
    if category in terms.fraud_categories:
        return "yes"
    return "if_counterfeit" if category in terms.counterfeit_categories else "no"


def remedies_offered(*, category: Category, price: Money, terms: RemedyTerms) -> list[dict]:
    """What the case view offers beyond a plain refund: 退一赔三 with its amounts, where it applies."""
    offered = fraud_triple_offered(category=category, terms=terms)
    if offered == "no":
        return []
    refund, compensation = fraud_triple_amounts(price=price, terms=terms)
    return [{"outcome": Outcome.FRAUD_TRIPLE.value, "refund": refund.model_dump(),
             "compensation": compensation.model_dump(), "compensation_basis": "fraud_triple",
             "condition": "always" if offered == "yes" else "agent_finds_counterfeit",
             "law": "消费者权益保护法 第五十五条 (Consumer Rights Protection Law art. 55)",
             "text_en": f"Refund of the price plus {terms.fraud_multiple}x the price as compensation, at least "
                        f"{terms.fraud_floor} (fraud or counterfeit goods)",
             "text_zh": f"退还价款并赔偿价款的{terms.fraud_multiple}倍，不足{terms.fraud_floor.amount_minor // 100}元"
                        "的按该数额赔偿（欺诈或假冒商品）"}]


def complete_offer(*, resolution: Resolution, price: Money, category: Category, terms: RemedyTerms) -> Resolution:
    """The offer with its money parts filled in; raises ActionInvalid naming the field and the rule."""
    r = resolution
    refund, compensation, basis = r.refund, r.compensation, r.compensation_basis
    if r.outcome is Outcome.FRAUD_TRIPLE:
        offered = fraud_triple_offered(category=category, terms=terms)
        if offered == "no":
            allowed = ", ".join((*terms.fraud_categories, *terms.counterfeit_categories))
            raise ActionInvalid(field="resolution.outcome",
                                rule=f"fraud_triple (退一赔三) is for fraud or counterfeit goods only ({allowed})")
        if offered == "if_counterfeit" and not r.reason.strip():
            raise ActionInvalid(field="resolution.reason",
                                rule="say what shows the goods are counterfeit (退一赔三 needs that finding)")
        refund, compensation = fraud_triple_amounts(price=price, terms=terms)
        basis = "fraud_triple"
    elif r.outcome is Outcome.REFUND:
        refund = refund or r.amount or price
    elif r.outcome is Outcome.PARTIAL_REFUND:
        refund = refund or r.amount
    elif r.outcome is Outcome.COMPENSATION:
        compensation = compensation or r.amount
    if compensation is not None and basis is None:
        basis = "other"
    for name, money in (("refund", refund), ("compensation", compensation)):
        if money is not None and money.currency != price.currency:
            raise ActionInvalid(field=f"resolution.{name}.currency",
                                rule=f"the order was paid in {price.currency}; offer money in the same currency")
    if refund is not None and refund.amount_minor > price.amount_minor:
        raise ActionInvalid(field="resolution.refund.amount_minor",
                            rule=f"a refund is at most the order amount ({price.amount_minor})")
    return r.model_copy(update={"refund": refund, "compensation": compensation, "compensation_basis": basis})


# "Virtual goods: no 7-day return" (虚拟商品不支持七天无理由退货) and close variants, zh and en.
_SEVEN = r"(?:七|7|seven)[-\s]*(?:天|日|days?)"
_NO_7DAY = [
    re.compile(r"虚拟.{0,12}(?:不支持|不适用|不享受|不能|不可|不予|无法|不提供|不退).{0,8}" + _SEVEN),
    re.compile(_SEVEN + r".{0,8}无理由.{0,16}(?:不适用|不支持|除外|不包括|不含).{0,12}虚拟"),
    re.compile(r"虚拟.{0,16}" + _SEVEN + r".{0,6}无理由.{0,6}(?:除外|不适用|不支持)"),
    re.compile(r"virtual.{0,40}(?:no|not|non|without|excluded|exempt|ineligible).{0,30}" + _SEVEN),
    re.compile(r"(?:no|not)\s+" + _SEVEN + r".{0,30}(?:return|refund).{0,40}virtual"),
    re.compile(_SEVEN + r".{0,40}(?:return|refund).{0,40}(?:not|doesn't|does not|don't).{0,20}(?:apply|support)"
               r".{0,30}virtual"),
]


def is_no_7day_return_refusal(text: str) -> bool:
    """Whether text refuses on the ground that virtual goods have no 7-day no-reason return."""
    t = text.lower().replace("７", "7").replace("\u3000", " ")
    return any(p.search(t) for p in _NO_7DAY)
