"""China's working-day calendar (statutory holidays and 调休 make-up days) and deadline arithmetic.

Deadline rule: ``add_working_days(start=s, days=n)`` ends at the *end* of the n-th working day
after the Shanghai date of ``s`` (the returned instant is 00:00 Asia/Shanghai of the following
day, in UTC); the time of day of ``s`` does not matter and the start day itself never counts.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

import holidays
from holidays.constants import PUBLIC

from services.escalation.domain.holiday_overrides import (
    DEFAULT_OVERRIDES,
    CalendarOverrides,
    load_overrides,
)

SHANGHAI = ZoneInfo("Asia/Shanghai")


class WorkingCalendar:
    """Working days in mainland China: weekends off, statutory holidays off, 调休 days on."""

    def __init__(self, *, overrides: CalendarOverrides | None = None) -> None:
        overrides = overrides or CalendarOverrides()
        # The package keeps China's 调休 weekend working days in ``weekend_workdays`` (read by
        # ``is_working_day``); China has no separate WORKDAY category to ask for.
        self._cn = holidays.China(categories=PUBLIC)
        self._off = {d.date for d in overrides.holidays}
        self._on = {d.date for d in overrides.working_days}

    def is_working_day(self, *, day: date) -> bool:
        """True when people in China work on that (Shanghai) date."""
        if day in self._on:
            return True
        if day in self._off:
            return False
        # A make-up day late in December can be announced with the next year's schedule,
        # and the package records it only once that next year is loaded.
        _ = date(day.year + 1, 1, 1) in self._cn
        return self._cn.is_working_day(day)

    def add_working_days(self, *, start: datetime, days: int) -> datetime:
        """End of the days-th working day after start's Shanghai date, as a UTC instant."""
        _require_aware(start=start)
        if days < 1:
            raise ValueError(f"days must be at least 1, got {days}")
        day, counted = start.astimezone(SHANGHAI).date(), 0
        while counted < days:
            day += timedelta(days=1)
            counted += self.is_working_day(day=day)
        return _local_midnight(day + timedelta(days=1))

    def working_days_between(self, *, start: datetime, end: datetime) -> int:
        """How many working days began strictly after start and strictly before end."""
        _require_aware(start=start, end=end)
        if end < start:
            raise ValueError("end must not be before start")
        first = start.astimezone(SHANGHAI).date() + timedelta(days=1)
        local_end = end.astimezone(SHANGHAI)
        last = local_end.date() - timedelta(days=1 if local_end.time() == time(0) else 0)
        span = (last - first).days + 1
        return sum(self.is_working_day(day=first + timedelta(days=i)) for i in range(max(span, 0)))


@lru_cache(maxsize=1)
def default_calendar() -> WorkingCalendar:
    """The calendar with the shipped override file applied."""
    return WorkingCalendar(overrides=load_overrides(path=DEFAULT_OVERRIDES))


def is_working_day(*, day: date) -> bool:
    """True when that date is a working day in China (default calendar)."""
    return default_calendar().is_working_day(day=day)


def add_working_days(*, start: datetime, days: int) -> datetime:
    """Deadline days working days after start (default calendar); see the module rule."""
    return default_calendar().add_working_days(start=start, days=days)


def working_days_between(*, start: datetime, end: datetime) -> int:
    """Working days that began between start and end (default calendar)."""
    return default_calendar().working_days_between(start=start, end=end)


def add_calendar_hours(*, start: datetime, hours: float) -> datetime:
    """start plus hours of wall time, in UTC."""
    _require_aware(start=start)
    return (start + timedelta(hours=hours)).astimezone(UTC)


def add_calendar_days(*, start: datetime, days: int) -> datetime:
    """start plus days, keeping the time of day (China has no daylight saving), in UTC."""
    _require_aware(start=start)
    return (start + timedelta(days=days)).astimezone(UTC)


def hours_between(*, start: datetime, end: datetime) -> float:
    """Wall-clock hours from start to end (negative when end is earlier)."""
    _require_aware(start=start, end=end)
    return (end - start).total_seconds() / 3600


def _local_midnight(day: date) -> datetime:
    return datetime.combine(day, time(0), SHANGHAI).astimezone(UTC)


def _require_aware(**values: datetime) -> None:
    for name, value in values.items():
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"{name} must be a timezone-aware datetime (UTC)")
