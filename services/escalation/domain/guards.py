"""Guards on entering a tier: it must be on the route, and external needs proof of failure."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from services.escalation.domain.policy_schema import Policy
from services.escalation.domain.routing import Route
from shared.contracts.vocabulary import Tier

_PROOF_TEXT = {
    "refusal_record": ("a record of the refusal", "商家或平台拒绝处理的记录"),
    "closed_ticket": ("a ticket closed without a solution", "未解决即被关闭的工单"),
    "breached_clock": ("a missed response deadline", "商家或平台超时未答复的记录"),
}
_TIER_ZH = {
    Tier.AUTOMATIC: "自动处理", Tier.INTERNAL: "平台客服", Tier.PLATFORM: "平台介入",
    Tier.PAYMENT_CHANNEL: "支付渠道", Tier.EXTERNAL: "外部投诉渠道", Tier.LEGAL: "法律途径",
}


class TierCheck(BaseModel):
    """Whether a case may enter a tier; ``missing`` names what is lacking (any one suffices)."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    tier: Tier
    allowed: bool
    missing: tuple[str, ...] = ()
    text_en: str = ""
    text_zh: str = ""


def check_tier(
    *, policy: Policy, route: Route, tier: Tier, refusal_record: bool = False,
    closed_ticket: bool = False, breached_clocks: frozenset[str] = frozenset(),
) -> TierCheck:
    """May the case enter tier? External needs proof internal handling failed."""
    if tier not in route.tiers:
        enabling = [r.name for r in policy.routing.rules
                    if tier in (*(r.then.next_tiers or ()), *r.then.add_next_tiers)]
        return TierCheck(tier=tier, allowed=False, missing=tuple(f"rule:{n}" for n in enabling),
                         text_en=f"This complaint does not qualify for the {tier} tier"
                         + (f" (qualifying rules: {', '.join(enabling)})." if enabling else "."),
                         text_zh=f"该投诉暂不符合{_TIER_ZH[tier]}的条件。")
    if tier is not Tier.EXTERNAL:
        return TierCheck(tier=tier, allowed=True)
    have = {"refusal_record": refusal_record, "closed_ticket": closed_ticket,
            "breached_clock": bool(breached_clocks & set(policy.external.breached_clocks))}
    needed = policy.external.requires_any_of
    if any(have[p] for p in needed):
        return TierCheck(tier=tier, allowed=True)
    return TierCheck(
        tier=tier, allowed=False, missing=needed,
        text_en="Before going to 12315 or another external body, show one of: "
        + "; ".join(_PROOF_TEXT[p][0] for p in needed) + ".",
        text_zh="向12315等外部渠道投诉前，请提供以下任一项："
        + "；".join(_PROOF_TEXT[p][1] for p in needed) + "。",
    )
