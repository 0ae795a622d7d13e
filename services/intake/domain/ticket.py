"""Ticket numbers (受理编号) CP-YYYYMMDD-NNNNNN: the China calendar day and a per-day sequence."""

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

PREFIX = "CP"
TICKET_PATTERN = r"^CP-\d{8}-(?:\d{6}|[1-9]\d{6,})$"
_TICKET = re.compile(TICKET_PATTERN)

try:
    CHINA: tzinfo = ZoneInfo("Asia/Shanghai")
except ZoneInfoNotFoundError:  # slim images may lack tzdata; China has kept UTC+8 without DST since 1991
    CHINA = timezone(timedelta(hours=8), "Asia/Shanghai")


class InvalidTicket(ValueError):
    """The text is not a ticket number in canonical form."""


@dataclass(frozen=True)
class TicketNumber:
    """A parsed ticket number."""

    day: date
    sequence: int

    def __str__(self) -> str:
        return f"{PREFIX}-{self.day:%Y%m%d}-{self.sequence:06d}"


def ticket_day(*, at: datetime) -> date:
    """The China calendar day of an aware instant, which names the ticket's day."""
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError("a ticket time must be timezone-aware")
    return at.astimezone(CHINA).date()


def sequence_name(*, at: datetime) -> str:
    """Name of the per-day counter to increment atomically for a filing at `at`, e.g. CP-20261123."""
    return f"{PREFIX}-{ticket_day(at=at):%Y%m%d}"


def format_ticket(*, filed_at: datetime, sequence: int) -> str:
    """Format CP-YYYYMMDD-NNNNNN; the sequence starts at 1 and widens past 999999."""
    if isinstance(sequence, bool) or not isinstance(sequence, int) or sequence < 1:
        raise ValueError("sequence must be an integer >= 1")
    return str(TicketNumber(day=ticket_day(at=filed_at), sequence=sequence))


def parse_ticket(*, ticket: str) -> TicketNumber:
    """Parse a canonical ticket number; InvalidTicket for any other spelling or an impossible date."""
    if not isinstance(ticket, str) or not _TICKET.fullmatch(ticket):
        raise InvalidTicket(f"not a ticket number (CP-YYYYMMDD-NNNNNN): {ticket!r}")
    _, day_text, sequence_text = ticket.split("-")
    try:
        day = datetime.strptime(day_text, "%Y%m%d").date()
    except ValueError as exc:
        raise InvalidTicket(f"ticket number has an impossible date: {ticket!r}") from exc
    sequence = int(sequence_text)
    if sequence < 1:
        raise InvalidTicket(f"ticket sequence starts at 1: {ticket!r}")
    return TicketNumber(day=day, sequence=sequence)
