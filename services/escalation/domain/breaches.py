"""What a breached clock leads to under the policy: whom to notify and where to escalate."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from services.escalation.domain.clocks import Clock
from services.escalation.domain.guards import TierCheck, check_tier
from services.escalation.domain.policy_schema import ClockOwner, Policy
from services.escalation.domain.routing import Route, next_tier
from services.escalation.domain.states import ACTIVE, CaseStatus
from services.escalation.domain.terms import BreachAction, Party
from shared.contracts.vocabulary import Tier

_NOTIFY = {
    BreachAction.NOTIFY_AGENT: Party.AGENT,
    BreachAction.NOTIFY_COMPLAINANT: Party.COMPLAINANT,
    BreachAction.NOTIFY_MERCHANT: Party.MERCHANT,
}


class BreachPlan(BaseModel):
    """The consequences of one breach; ``blocked`` explains an escalation the guard refused."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    clock: str
    reason: str
    notify: tuple[Party, ...] = ()
    escalate_to: Tier | None = None
    blocked: TierCheck | None = None


def plan_breach(
    *, clock: Clock, status: CaseStatus, route: Route, policy: Policy, refusal_record: bool = False,
    closed_ticket: bool = False, breached_clocks: frozenset[str] = frozenset(),
    lapsed_windows: frozenset[str] = frozenset(), open_windows: frozenset[str] = frozenset(),
) -> BreachPlan:
    """Turn a breached clock into notifications and, if the policy says so, an escalation target.

    A tier the complainant can no longer use is passed over: one whose windows (policy
    ``tier_windows``, e.g. the channel dispute and chargeback windows for the payment channel) the
    case has, all of them lapsed (``lapsed_windows``) and none still open (``open_windows``)."""
    reason = f"{clock.name} breached (due {clock.due_at:%Y-%m-%dT%H:%MZ})"
    notify = tuple(_NOTIFY[a] for a in clock.on_breach if a in _NOTIFY)
    # The complainant's own window lapsing is theirs: it never moves the case against the merchant.
    mine = clock.owner is ClockOwner.COMPLAINANT
    if mine or BreachAction.ESCALATE not in clock.on_breach or status.state not in ACTIVE:
        return BreachPlan(clock=clock.name, reason=reason, notify=notify)
    target = next_tier(route=route, current=status.tier)
    # Only the handling side's lapses prove internal handling failed (never the buyer's own window).
    breached_clocks = frozenset(n for n in breached_clocks
                                if n not in policy.clocks or policy.clocks[n].owner is not ClockOwner.COMPLAINANT)
    while target is not None and _closed_to_buyer(policy, target, lapsed_windows, open_windows):
        reason += f"; {target} passed over: the complainant's window there has closed"
        target = next_tier(route=route, current=target)
    if target is None:
        return BreachPlan(clock=clock.name, reason=reason, notify=notify)
    check = check_tier(policy=policy, route=route, tier=target, refusal_record=refusal_record,
                       closed_ticket=closed_ticket, breached_clocks=breached_clocks | {clock.name})
    if not check.allowed:
        return BreachPlan(clock=clock.name, reason=reason, notify=notify, blocked=check)
    return BreachPlan(clock=clock.name, reason=reason, notify=notify, escalate_to=target)


def _closed_to_buyer(policy: Policy, tier: Tier, lapsed: frozenset[str], still_open: frozenset[str]) -> bool:
    windows = set(policy.tier_windows.get(tier, ()))
    return bool(windows & lapsed) and not windows & still_open
