"""SLA clocks: when each one is due, when it warns, and how pausing moves it.

Pausing: a calendar-based clock's due time moves by the paused wall time. A working-day clock
gets back every working day that *began* while it was paused, and its due time is recomputed
from the start with that many extra working days (a pause inside one day gives nothing back).
The warning always comes (1 - warn_share) of the clock's unpaused length before the due time.

A clock the complainant owns (their own window: channel dispute, chargeback, 补单, evidence) warns
them a second time a day before it closes, unless the clock is a day or shorter or its share
warning already comes within that last day.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from enum import StrEnum

from pydantic import AwareDatetime, BaseModel, ConfigDict, field_validator

from services.escalation.domain.calendar import WorkingCalendar, add_calendar_days, default_calendar
from services.escalation.domain.policy import Policy
from services.escalation.domain.policy_schema import ClockOwner
from services.escalation.domain.states import WAITING_ON_COMPLAINANT
from services.escalation.domain.terms import Basis, BreachAction

# Pausable clocks stop in these states: the complainant, not the platform, must act.
PAUSING_STATES = WAITING_ON_COMPLAINANT
DAY = timedelta(days=1)
# Clocks stored before clocks had owners said who acted: "agent" and "system" were the handling side.
_OLD_OWNERS = {"agent": ClockOwner.MERCHANT, "system": ClockOwner.MERCHANT}


class ClockStatus(StrEnum):
    """What a clock is doing at a given instant."""

    RUNNING = "running"
    PAUSED = "paused"
    WARNED = "warned"
    BREACHED = "breached"
    STOPPED = "stopped"


class Pause(BaseModel):
    """A closed interval during which the clock did not run."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    start: AwareDatetime
    end: AwareDatetime


class Clock(BaseModel):
    """One running deadline on a case; immutable, every change returns a new clock."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    name: str
    basis: Basis
    length: int | float
    owner: ClockOwner
    pausable: bool
    warn_share: float
    on_breach: tuple[BreachAction, ...] = ()
    started_at: AwareDatetime
    due_at: AwareDatetime
    warn_at: AwareDatetime
    day_before_at: AwareDatetime | None = None
    pauses: tuple[Pause, ...] = ()
    paused_at: AwareDatetime | None = None
    stopped_at: AwareDatetime | None = None

    @field_validator("owner", mode="before")
    @classmethod
    def _old_owner(cls, value: object) -> object:
        return _OLD_OWNERS.get(value, value) if isinstance(value, str) else value

    def status(self, *, at: datetime) -> ClockStatus:
        """The clock's status at an instant."""
        if self.stopped_at is not None and at >= self.stopped_at:
            return ClockStatus.STOPPED
        if self.paused_at is not None and at >= self.paused_at:
            return ClockStatus.PAUSED
        if at >= self.due_at:
            return ClockStatus.BREACHED
        return ClockStatus.WARNED if at >= self.warn_at else ClockStatus.RUNNING

    def pause(self, *, at: datetime) -> Clock:
        """Stop the clock running; a no-op unless it is pausable and running or warned."""
        if not self.pausable or self.status(at=at) not in {ClockStatus.RUNNING, ClockStatus.WARNED}:
            return self
        return self.model_copy(update={"paused_at": at})

    def resume(self, *, at: datetime, calendar: WorkingCalendar | None = None) -> Clock:
        """Run again from at, moving the due and warning times (see the module rule)."""
        if self.paused_at is None or self.stopped_at is not None:
            return self
        pauses = (*self.pauses, Pause(start=self.paused_at, end=max(at, self.paused_at)))
        calendar = calendar or default_calendar()
        due = _due(self.basis, self.length, self.started_at, pauses, calendar)
        unpaused = _due(self.basis, self.length, self.started_at, (), calendar)
        lead = (unpaused - self.started_at) * (1 - self.warn_share)
        return self.model_copy(update={"pauses": pauses, "paused_at": None, "due_at": due,
                                       "warn_at": due - lead,
                                       "day_before_at": _day_before(self.owner, due, due - lead)})

    def stop(self, *, at: datetime) -> Clock:
        """Stop for good: the owed action happened or no longer matters."""
        return self if self.stopped_at is not None else self.model_copy(update={"stopped_at": at})

    def timers(self) -> tuple[tuple[str, datetime], ...]:
        """What a scheduler must fire for this clock: ("warning", at), for the complainant's own
        windows ("day_before", at), and ("breach", at)."""
        if self.stopped_at is not None or self.paused_at is not None:
            return ()
        reminder = (("day_before", self.day_before_at),) if self.day_before_at is not None else ()
        return (("warning", self.warn_at), *reminder, ("breach", self.due_at))


def start_clock(
    *, policy: Policy, name: str, started_at: datetime, paid_at: datetime | None = None,
    discovered_at: datetime | None = None, channel: str | None = None,
    calendar: WorkingCalendar | None = None, complex_case: bool = False,
) -> Clock | None:
    """Start a policy clock; None when it does not apply (no anchor time, or not for this channel).

    A complex case runs the clock's ``complex`` length where the policy gives one."""
    if name not in policy.clocks:
        raise ValueError(f"unknown clock {name!r}; the policy defines: {', '.join(policy.clocks)}")
    spec = policy.clocks[name]
    basis, length = spec.basis, spec.length_for(channel=channel)
    if complex_case and spec.complex is not None:
        basis, length = spec.complex.basis, spec.complex.duration
    anchor = {Basis.DAYS_FROM_PAYMENT: paid_at, Basis.DAYS_FROM_DISCOVERY: discovered_at}.get(
        basis, started_at)
    if anchor is None or length is None:
        return None
    share = policy.clock_warn_share(name=name)
    due = _due(basis, length, anchor, (), calendar or default_calendar())
    warn = due - (due - anchor) * (1 - share)
    return Clock(name=name, basis=basis, length=length, owner=spec.owner, pausable=spec.pauses,
                 warn_share=share, on_breach=spec.on_breach, started_at=anchor, due_at=due,
                 warn_at=warn, day_before_at=_day_before(spec.owner, due, warn))


def _day_before(owner: ClockOwner, due: datetime, warn: datetime) -> datetime | None:
    """The complainant's second warning, a day before their window closes (see the module rule)."""
    return due - DAY if owner is ClockOwner.COMPLAINANT and due - warn > DAY else None


def _due(basis: Basis, length: int | float, anchor: datetime, pauses: tuple[Pause, ...],
         calendar: WorkingCalendar) -> datetime:
    if basis is Basis.WORKING_DAYS:
        back = sum(calendar.working_days_between(start=p.start, end=p.end) for p in pauses)
        return calendar.add_working_days(start=anchor, days=int(length) + back)
    paused = sum((p.end - p.start for p in pauses), timedelta())
    if basis is Basis.CALENDAR_HOURS:
        return (anchor + timedelta(hours=length) + paused).astimezone(UTC)
    return add_calendar_days(start=anchor, days=int(length)) + paused
