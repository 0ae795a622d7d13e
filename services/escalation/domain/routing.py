"""Routing a complaint through the policy: first tier, next tiers, clocks and priority."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from services.escalation.domain.policy_schema import Condition, Policy
from services.escalation.domain.states import TIER_STATES, State
from shared.contracts.vocabulary import Category, Priority, Tier
from shared.money import Money


class MerchantHistory(BaseModel):
    """What the platform knows about the merchant's recent record."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    open_complaints: int = Field(0, ge=0)
    breached_clocks: int = Field(0, ge=0, title="Clocks the merchant let run out lately")


class Route(BaseModel):
    """Where a complaint starts, where it may go next and which clocks run."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    priority: Priority
    first_tier: Tier
    parallel_tiers: tuple[Tier, ...]
    next_tiers: tuple[Tier, ...]
    clocks: tuple[str, ...]
    request_account_freeze: bool
    matched_rules: tuple[str, ...]

    @property
    def first_state(self) -> State:
        """The state a new case opens in."""
        return TIER_STATES.get(self.first_tier, State.FILED)

    @property
    def tiers(self) -> tuple[Tier, ...]:
        """Every tier this route may use, lowest first."""
        used = {self.first_tier, Tier.INTERNAL, *self.parallel_tiers, *self.next_tiers}
        return tuple(t for t in Tier if t in used)


def route(
    *, policy: Policy, category: Category, priority: Priority = Priority.NORMAL,
    amount: Money | None = None, channel: str | None = None,
    merchant: MerchantHistory = MerchantHistory(),  # noqa: B008  a frozen model: the shared default cannot change
) -> Route:
    """Apply the policy's rules, in file order, to one complaint."""
    d = policy.routing.default
    r: dict[str, Any] = dict(priority=max(priority, d.priority, key=lambda p: p.rank), first_tier=d.first_tier,
             parallel_tiers=d.parallel_tiers, next_tiers=d.next_tiers, clocks=d.clocks,
             request_account_freeze=d.request_account_freeze, matched_rules=())
    for rule in policy.routing.rules:
        if not _matches(rule.when, category, priority, amount, channel, merchant):
            continue
        then = rule.then
        if then.priority is not None:
            r["priority"] = max(r["priority"], then.priority, key=lambda p: p.rank)
        for field in ("first_tier", "parallel_tiers", "next_tiers", "clocks", "request_account_freeze"):
            if getattr(then, field) is not None:
                r[field] = getattr(then, field)
        r["next_tiers"] = _merge(r["next_tiers"], then.add_next_tiers)
        r["clocks"] = _merge(r["clocks"], then.add_clocks)
        r["matched_rules"] = (*r["matched_rules"], rule.name)
    r["next_tiers"] = tuple(t for t in Tier if t in r["next_tiers"] and t.rank > r["first_tier"].rank)
    return Route(**r)


def next_tier(*, route: Route, current: Tier) -> Tier | None:
    """The tier a breach escalates to: the route's lowest tier above current, if any.

    The automatic tier hands on to internal handling (the case keeps its state). The legal tier is
    never reached by a breach: going to court is a deliberate step, the complainant's or an agent's."""
    if current is Tier.AUTOMATIC:
        return Tier.INTERNAL
    return next((t for t in route.tiers if t.rank > current.rank and t in TIER_STATES and t is not Tier.LEGAL),
                None)


def _matches(w: Condition, category: Category, priority: Priority, amount: Money | None,
             channel: str | None, merchant: MerchantHistory) -> bool:
    checks = [
        not w.categories or category in w.categories,
        not w.priorities or priority in w.priorities,
        not w.channels or channel in w.channels,
        w.amount_over is None or (amount is not None and amount.currency == w.amount_over.currency
                                  and amount.amount_minor > w.amount_over.amount_minor),
        w.merchant_open_complaints_at_least is None
        or merchant.open_complaints >= w.merchant_open_complaints_at_least,
        w.merchant_breached_clocks_at_least is None
        or merchant.breached_clocks >= w.merchant_breached_clocks_at_least,
    ]
    return all(checks)


def _merge(base: tuple, extra: tuple) -> tuple:
    return (*base, *(x for x in extra if x not in base))

