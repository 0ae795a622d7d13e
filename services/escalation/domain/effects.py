"""Which clocks a lifecycle step starts, stops, pauses or resumes, and applying that to a case.

Most clocks run only on routes that list them. Two kinds run on every route the policy defines
them for: the tier clocks (``tier_clocks``: started when a case enters the tier, stopped when it
leaves) and ``merchant_response``, (re)started whenever the case is forwarded to the merchant.
The refund clock runs from the refund request: from the opening of a case whose demand asks for
money back, otherwise from the acceptance of a money resolution; a running one is never restarted.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict

from services.escalation.domain.actions import Action
from services.escalation.domain.calendar import WorkingCalendar
from services.escalation.domain.clocks import Clock, start_clock
from services.escalation.domain.policy import Policy
from services.escalation.domain.routing import Route
from services.escalation.domain.states import FINISHED, WAITING_ON_COMPLAINANT, Outcome, State
from services.escalation.domain.transitions import Step
from shared.contracts.vocabulary import Tier
from shared.money import Money

# These start when something happens during the case, not when it is opened.
ON_DEMAND = frozenset({"merchant_response", "refund", "evidence_upload"})
HANDLING = frozenset({"first_response", "merchant_response", "internal_answer", "evidence_upload"})
MONEY_OUTCOMES = frozenset({Outcome.REFUND, Outcome.PARTIAL_REFUND, Outcome.COMPENSATION, Outcome.FRAUD_TRIPLE})
# Demand types (ComplaintFiled.demand["type"]) that ask for money back: the refund request.
REFUND_DEMANDS = frozenset({"refund", "refund_and_compensation", "fraud_triple"})
# Started once and left running: a later start (e.g. the offer accepted) does not move the deadline.
KEEP_RUNNING = frozenset({"refund"})


class CaseFacts(BaseModel):
    """What a clock's start depends on besides the step: complexity and the refund request."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    category: str | None = None
    amount: Money | None = None
    contested: bool = False
    refund_requested: bool = False

    def is_complex(self, *, policy: Policy) -> bool:
        """Complex per the policy's complex_case (runs the clocks' complex lengths)."""
        return policy.complex_case.matches(category=self.category, amount=self.amount,
                                           contested=self.contested)


def refund_requested(*, demand: Mapping[str, Any] | None) -> bool:
    """Whether a filed demand asks for money back (a refund alone or as part of a compound demand)."""
    return isinstance(demand, Mapping) and demand.get("type") in REFUND_DEMANDS


class ClockChanges(BaseModel):
    """What a step does to the case's clocks."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    start: tuple[str, ...] = ()
    stop: tuple[str, ...] = ()
    pause: bool = False
    resume: bool = False


def opening_clocks(*, route: Route, policy: Policy | None = None,
                   facts: CaseFacts | None = None) -> tuple[str, ...]:
    """Clocks to start when a case is opened on this route (with the policy: its first tier's
    clock; with a refund request among the facts: the refund clock)."""
    names = [name for name in route.clocks if name not in ON_DEMAND]
    if facts is not None and facts.refund_requested and "refund" in route.clocks:
        names.append("refund")
    tier_clock = policy.tier_clocks.get(route.first_tier) if policy is not None else None
    if tier_clock is not None and tier_clock not in names:
        names.append(tier_clock)
    return tuple(names)


def open_clocks(
    *, policy: Policy, route: Route, opened_at: datetime, paid_at: datetime | None = None,
    discovered_at: datetime | None = None, channel: str | None = None,
    calendar: WorkingCalendar | None = None, facts: CaseFacts | None = None,
) -> dict[str, Clock]:
    """Start the clocks a new case gets; those that do not apply (no anchor, channel) are left out."""
    changes = ClockChanges(start=opening_clocks(route=route, policy=policy, facts=facts))
    return apply_clock_changes(clocks={}, changes=changes, at=opened_at, policy=policy, paid_at=paid_at,
                               discovered_at=discovered_at, channel=channel, calendar=calendar,
                               complex_case=facts is not None and facts.is_complex(policy=policy))


def clock_changes(*, step: Step, route: Route, policy: Policy | None = None) -> ClockChanges:
    """The clock changes one lifecycle step causes, limited to the route's clocks; with the policy,
    also its tier clocks and the merchant's response clock (see the module rule)."""
    start, stop = set(), set()
    a, before, after = step.action, step.from_state, step.to_state
    tiers = dict(policy.tier_clocks) if policy is not None else {}
    everywhere = {*tiers.values(), "merchant_response"} & set(policy.clocks) if policy is not None else set()
    if a is Action.RESPOND:
        stop.add("first_response")
    if after is State.AWAITING_MERCHANT and (before is not State.AWAITING_MERCHANT
                                             or a is Action.FORWARD_TO_MERCHANT):
        start.add("merchant_response")
    if a is Action.MERCHANT_RESPONSE or before is State.AWAITING_MERCHANT and after is not before:
        stop.add("merchant_response")
    if a is Action.REQUEST_EVIDENCE:
        start.add("evidence_upload")
    if before is State.AWAITING_EVIDENCE and after is not before:
        stop.add("evidence_upload")
    if step.from_tier is Tier.INTERNAL and step.to_tier.rank > Tier.INTERNAL.rank:
        stop |= HANDLING
    if after is State.RESOLVED:
        stop |= HANDLING
        outcome = step.status.outcome
        if outcome is not None and outcome.outcome in MONEY_OUTCOMES:
            start.add("refund")
    if after in {State.CLOSED, State.WITHDRAWN}:
        stop |= set(route.clocks)
    if a is Action.REOPEN:
        start.add("internal_answer")
        stop.add("refund")
    if step.from_tier is not step.to_tier:
        stop |= {tiers[step.from_tier]} if step.from_tier in tiers else set()
        start |= {tiers[step.to_tier]} if step.to_tier in tiers and after not in FINISHED else set()
    if after in FINISHED:
        stop |= set(tiers.values())
    known = (*route.clocks, *sorted(everywhere - set(route.clocks)))
    return ClockChanges(
        start=tuple(n for n in known if n in start),
        stop=tuple(n for n in known if n in stop - start),
        pause=after in WAITING_ON_COMPLAINANT and before not in WAITING_ON_COMPLAINANT,
        resume=before in WAITING_ON_COMPLAINANT and after not in WAITING_ON_COMPLAINANT,
    )


def apply_clock_changes(
    *, clocks: Mapping[str, Clock], changes: ClockChanges, at: datetime, policy: Policy,
    paid_at: datetime | None = None, discovered_at: datetime | None = None,
    channel: str | None = None, calendar: WorkingCalendar | None = None, complex_case: bool = False,
) -> dict[str, Clock]:
    """The case's clocks after the changes; a started clock replaces one of the same name (except a
    running KEEP_RUNNING clock, which keeps its deadline)."""
    out = dict(clocks)
    for name in changes.stop:
        if name in out:
            out[name] = out[name].stop(at=at)
    for name, clock in out.items():
        if changes.pause:
            out[name] = clock.pause(at=at)
        elif changes.resume:
            out[name] = clock.resume(at=at, calendar=calendar)
    for name in changes.start:
        if name in KEEP_RUNNING and name in out and out[name].stopped_at is None:
            continue
        started = start_clock(policy=policy, name=name, started_at=at, paid_at=paid_at,
                              discovered_at=discovered_at, channel=channel, calendar=calendar,
                              complex_case=complex_case)
        if started is not None:
            out[name] = started
    return out
