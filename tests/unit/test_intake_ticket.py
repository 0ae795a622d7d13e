"""Ticket numbers: China calendar day, six-digit sequence that widens, one spelling per ticket."""

from datetime import UTC, date, datetime, timedelta, timezone

import pytest

from services.intake.domain.ticket import InvalidTicket, format_ticket, parse_ticket, sequence_name

pytestmark = pytest.mark.unit


def test_day_is_the_china_day():
    # 16:30 UTC on the 22nd is 00:30 on the 23rd in Shanghai.
    assert format_ticket(filed_at=datetime(2026, 11, 22, 16, 30, tzinfo=UTC), sequence=123) == "CP-20261123-000123"
    assert format_ticket(filed_at=datetime(2026, 11, 22, 15, 59, tzinfo=UTC), sequence=1) == "CP-20261122-000001"
    assert sequence_name(at=datetime(2026, 11, 22, 16, 30, tzinfo=UTC)) == "CP-20261123"


def test_sequence_widens_past_six_digits():
    ticket = format_ticket(filed_at=datetime(2026, 11, 23, 4, tzinfo=UTC), sequence=1_234_567)
    assert ticket == "CP-20261123-1234567"
    assert parse_ticket(ticket=ticket).sequence == 1_234_567


def test_parse_round_trip():
    parsed = parse_ticket(ticket="CP-20261123-000123")
    assert (parsed.day, parsed.sequence, str(parsed)) == (date(2026, 11, 23), 123, "CP-20261123-000123")


@pytest.mark.parametrize("text", [
    "CP-20261123-123", "CP-20261123-0001234", "cp-20261123-000123", "CP-20261323-000001", "CP-20261123-000000",
    "CP-20261123-000001 ", "XX-20261123-000001", "",
])
def test_non_canonical_or_impossible_tickets_are_refused(text):
    with pytest.raises(InvalidTicket):
        parse_ticket(ticket=text)


def test_naive_times_and_bad_sequences_are_refused():
    with pytest.raises(ValueError):
        format_ticket(filed_at=datetime(2026, 11, 23), sequence=1)
    with pytest.raises(ValueError):
        format_ticket(filed_at=datetime(2026, 11, 23, tzinfo=timezone(timedelta(hours=8))), sequence=0)
