"""Which clocks a lifecycle step starts, stops, pauses or resumes, and applying that to a case."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from pydantic import BaseModel, ConfigDict

from services.escalation.domain.actions import Action
from services.escalation.domain.calendar import WorkingCalendar
from services.escalation.domain.clocks import Clock, start_clock
from services.escalation.domain.policy import Policy
from services.escalation.domain.routing import Route
from services.escalation.domain.states import WAITING_ON_COMPLAINANT, Outcome, State
from services.escalation.domain.transitions import Step
from shared.contracts.vocabulary import Tier

# These start when something happens during the case, not when it is opened.
ON_DEMAND = frozenset({"merchant_response", "refund", "evidence_upload"})
HANDLING = frozenset({"first_response", "merchant_response", "internal_answer", "evidence_upload"})
MONEY_OUTCOMES = frozenset({Outcome.REFUND, Outcome.PARTIAL_REFUND, Outcome.COMPENSATION})


class ClockChanges(BaseModel):
    """What a step does to the case's clocks."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    start: tuple[str, ...] = ()
    stop: tuple[str, ...] = ()
    pause: bool = False
    resume: bool = False


def opening_clocks(*, route: Route) -> tuple[str, ...]:
    """Clocks to start when a case is opened on this route."""
    return tuple(name for name in route.clocks if name not in ON_DEMAND)


def open_clocks(
    *, policy: Policy, route: Route, opened_at: datetime, paid_at: datetime | None = None,
    discovered_at: datetime | None = None, channel: str | None = None,
    calendar: WorkingCalendar | None = None,
) -> dict[str, Clock]:
    """Start the clocks a new case gets; those that do not apply (no anchor, channel) are left out."""
    changes = ClockChanges(start=opening_clocks(route=route))
    return apply_clock_changes(clocks={}, changes=changes, at=opened_at, policy=policy, paid_at=paid_at,
                               discovered_at=discovered_at, channel=channel, calendar=calendar)


def clock_changes(*, step: Step, route: Route) -> ClockChanges:
    """The clock changes one lifecycle step causes, limited to the route's clocks."""
    start, stop = set(), set()
    a, before, after = step.action, step.from_state, step.to_state
    if a is Action.RESPOND:
        stop.add("first_response")
    if after is State.AWAITING_MERCHANT and before is not State.AWAITING_MERCHANT:
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
    return ClockChanges(
        start=tuple(n for n in route.clocks if n in start),
        stop=tuple(n for n in route.clocks if n in stop - start),
        pause=after in WAITING_ON_COMPLAINANT and before not in WAITING_ON_COMPLAINANT,
        resume=before in WAITING_ON_COMPLAINANT and after not in WAITING_ON_COMPLAINANT,
    )


def apply_clock_changes(
    *, clocks: Mapping[str, Clock], changes: ClockChanges, at: datetime, policy: Policy,
    paid_at: datetime | None = None, discovered_at: datetime | None = None,
    channel: str | None = None, calendar: WorkingCalendar | None = None,
) -> dict[str, Clock]:
    """The case's clocks after the changes; a started clock replaces one of the same name."""
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
        clock = start_clock(policy=policy, name=name, started_at=at, paid_at=paid_at,
                            discovered_at=discovered_at, channel=channel, calendar=calendar)
        if clock is not None:
            out[name] = clock
    return out
