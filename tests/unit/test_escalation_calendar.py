"""China working-day calendar: holidays, 调休 make-up days, overrides and deadline arithmetic."""

from datetime import UTC, date, datetime, timedelta

import holidays
import pytest

from services.escalation.domain.calendar import (
    SHANGHAI,
    WorkingCalendar,
    add_calendar_days,
    add_calendar_hours,
    add_working_days,
    default_calendar,
    hours_between,
    is_working_day,
    working_days_between,
)
from services.escalation.domain.holiday_overrides import CalendarOverrideError, load_overrides

pytestmark = pytest.mark.unit


def _sh(*args: int) -> datetime:
    return datetime(*args, tzinfo=SHANGHAI)


def test_installed_holidays_package_has_new_year_2027_as_the_only_day_off() -> None:
    cn = holidays.China(years=[2026, 2027])
    assert date(2027, 1, 1) in cn
    assert [is_working_day(day=date(2026, 12, 28) + timedelta(days=i)) for i in range(11)] == [
        True, True, True, True,  # 28-31 Dec 2026
        False, False, False,  # New Year's Day (Fri) and the weekend
        True, True, True, True,  # 4-7 Jan 2027
    ]


def test_seven_working_days_from_28_december_2026_cross_new_year() -> None:
    # Working days counted: 29, 30, 31 Dec, then 4, 5, 6, 7 Jan (1 Jan is New Year's Day).
    due = add_working_days(start=_sh(2026, 12, 28, 10, 30), days=7)
    assert due == _sh(2027, 1, 8, 0, 0)
    assert due.tzinfo is UTC and due == datetime(2027, 1, 7, 16, 0, tzinfo=UTC)


def test_deadline_ignores_time_of_day_and_never_counts_the_start_day() -> None:
    early = add_working_days(start=_sh(2026, 12, 28, 0, 0), days=1)
    late = add_working_days(start=_sh(2026, 12, 28, 23, 59), days=1)
    assert early == late == _sh(2026, 12, 30, 0, 0)


def test_utc_start_is_counted_on_its_shanghai_date() -> None:
    # 20:00 UTC on the 27th is already Monday 28 Dec in Shanghai.
    assert add_working_days(start=datetime(2026, 12, 27, 20, tzinfo=UTC), days=1) == _sh(2026, 12, 30)


def test_make_up_saturday_in_may_2026_is_a_working_day() -> None:
    # The State Council moved the 5 May 2026 day off onto Saturday 9 May (调休).
    assert holidays.China(years=2026).is_working_day(date(2026, 5, 9))
    assert is_working_day(day=date(2026, 5, 9))
    assert not is_working_day(day=date(2026, 5, 5))  # the Tuesday it was swapped with


def test_make_up_saturday_counts_towards_a_deadline() -> None:
    # Fri 8 May + 1 working day ends on Saturday 9 May, not on Monday 11 May.
    assert add_working_days(start=_sh(2026, 5, 8, 9), days=1) == _sh(2026, 5, 10)
    # From 30 Apr: 1-5 May off, 6, 7, 8 May work, then the make-up Saturday.
    assert add_working_days(start=_sh(2026, 4, 30, 9), days=4) == _sh(2026, 5, 10)


def test_ordinary_weekend_and_spring_festival_are_days_off() -> None:
    assert not is_working_day(day=date(2026, 12, 26))
    assert not is_working_day(day=date(2026, 2, 17))
    assert is_working_day(day=date(2026, 2, 14))  # Saturday make-up day before Spring Festival


def test_working_days_between_counts_days_begun_in_between() -> None:
    start = _sh(2026, 12, 28, 10)
    assert working_days_between(start=start, end=add_working_days(start=start, days=7)) == 7
    assert working_days_between(start=start, end=_sh(2026, 12, 28, 18)) == 0
    assert working_days_between(start=_sh(2026, 12, 31, 18), end=_sh(2027, 1, 4, 9)) == 1
    with pytest.raises(ValueError, match="end must not be before start"):
        working_days_between(start=start, end=start - timedelta(hours=1))


def test_override_file_wins_over_the_package(tmp_path) -> None:
    path = tmp_path / "overrides.yaml"
    path.write_text(
        "holidays:\n  - {date: 2026-12-31, name: bridge day}\n"
        "working_days:\n  - {date: 2027-01-02, name: 调休}\n", encoding="utf-8")
    cal = WorkingCalendar(overrides=load_overrides(path=path))
    assert not cal.is_working_day(day=date(2026, 12, 31))
    assert cal.is_working_day(day=date(2027, 1, 2))
    # 29, 30 Dec, then Saturday 2 Jan, 4, 5, 6, 7 Jan.
    assert cal.add_working_days(start=_sh(2026, 12, 28, 9), days=7) == _sh(2027, 1, 8)
    assert cal.add_working_days(start=_sh(2026, 12, 28, 9), days=3) == _sh(2027, 1, 3)


def test_override_file_with_a_date_both_ways_is_refused(tmp_path) -> None:
    path = tmp_path / "overrides.yaml"
    path.write_text("holidays: [{date: 2027-01-02}]\nworking_days: [{date: 2027-01-02}]\n", encoding="utf-8")
    with pytest.raises(CalendarOverrideError, match="overrides.yaml.*both a holiday and a working day"):
        load_overrides(path=path)


def test_override_file_with_a_bad_date_names_the_entry(tmp_path) -> None:
    path = tmp_path / "overrides.yaml"
    path.write_text("holidays: [{date: 2027-02-30}]\n", encoding="utf-8")
    with pytest.raises(CalendarOverrideError, match=r"overrides.yaml: cannot read: day is out of range"):
        load_overrides(path=path)


def test_shipped_override_file_loads() -> None:
    assert default_calendar().is_working_day(day=date(2026, 12, 28))


def test_naive_datetimes_and_zero_days_are_refused() -> None:
    with pytest.raises(ValueError, match="start must be a timezone-aware"):
        add_working_days(start=datetime(2026, 12, 28, 9), days=1)
    with pytest.raises(ValueError, match="days must be at least 1"):
        add_working_days(start=_sh(2026, 12, 28, 9), days=0)


def test_calendar_hours_and_days_keep_wall_time() -> None:
    paid = datetime(2026, 12, 20, 3, 15, tzinfo=UTC)
    assert add_calendar_hours(start=paid, hours=24) == datetime(2026, 12, 21, 3, 15, tzinfo=UTC)
    assert add_calendar_days(start=paid, days=15) == datetime(2027, 1, 4, 3, 15, tzinfo=UTC)
    assert hours_between(start=paid, end=paid + timedelta(hours=36)) == 36


def test_override_entry_of_the_wrong_type_names_its_path(tmp_path) -> None:
    path = tmp_path / "overrides.yaml"
    path.write_text("working_days: [{date: soon}]\n", encoding="utf-8")
    with pytest.raises(CalendarOverrideError, match=r"working_days\.0\.date"):
        load_overrides(path=path)
