"""Deadlines as people read them: Beijing time, the reader's own zone, and what is left."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

BEIJING = ZoneInfo("Asia/Shanghai")


def parse(value: str | datetime | None) -> datetime | None:
    """An API timestamp as an aware datetime (None stays None)."""
    if value is None or value == "":
        return None
    at = value if isinstance(value, datetime) else datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    return at if at.tzinfo else at.replace(tzinfo=UTC)


def zone(name: str | None) -> ZoneInfo:
    """The reader's zone, Beijing when unknown."""
    try:
        return ZoneInfo(name) if name else BEIJING
    except (ZoneInfoNotFoundError, ValueError):
        return BEIJING


def beijing(at: datetime) -> str:
    """The instant in Beijing time, to the minute."""
    return at.astimezone(BEIJING).strftime("%Y-%m-%d %H:%M")


def local(at: datetime, name: str | None) -> str:
    """The instant in the reader's zone with its abbreviation."""
    return at.astimezone(zone(name)).strftime("%Y-%m-%d %H:%M %Z")


def left(*, due: datetime, now: datetime | None = None, lang: str = "zh-CN") -> str:
    """What is left until `due` (or how long it is overdue), in days, hours and minutes."""
    seconds = int((due - (now or datetime.now(UTC))).total_seconds())
    overdue, seconds = seconds < 0, abs(seconds)
    days, rest = divmod(seconds, 86400)
    hours, minutes = rest // 3600, rest % 3600 // 60
    if lang == "zh-CN":
        text = (f"{days}天" if days else "") + f"{hours}小时{minutes}分"
        return f"已超时 {text}" if overdue else f"剩余 {text}"
    text = (f"{days}d " if days else "") + f"{hours}h {minutes:02d}m"
    return f"overdue by {text}" if overdue else f"{text} left"
