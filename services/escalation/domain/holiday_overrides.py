"""The override file for newly announced working-day schedules: its schema and loading."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError, model_validator

DEFAULT_OVERRIDES = Path(__file__).with_name("calendar_overrides.yaml")


class CalendarOverrideError(ValueError):
    """The override file is unreadable or breaks a rule; the message names the file and entry."""


class OverrideDay(BaseModel):
    """One announced day: a date and, for people reading the file, a name."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    date: date
    name: str = ""


class CalendarOverrides(BaseModel):
    """Newly announced schedules the holidays package does not know yet; they win over it."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    holidays: list[OverrideDay] = []
    working_days: list[OverrideDay] = []

    @model_validator(mode="after")
    def _no_day_both_ways(self) -> CalendarOverrides:
        clash = {d.date for d in self.holidays} & {d.date for d in self.working_days}
        if clash:
            raise ValueError(f"a date cannot be both a holiday and a working day: {sorted(clash)}")
        return self


def load_overrides(*, path: Path) -> CalendarOverrides:
    """Read and validate an override file; raises CalendarOverrideError naming what is wrong."""
    try:
        # PyYAML itself raises ValueError for impossible dates such as 2027-02-30.
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError, ValueError) as exc:
        raise CalendarOverrideError(f"{path.name}: cannot read: {exc}") from exc
    try:
        return CalendarOverrides.model_validate(raw)
    except ValidationError as exc:
        where = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or '(top)'}: {e['msg']}" for e in exc.errors()
        )
        raise CalendarOverrideError(f"{path.name}: {where}") from exc
