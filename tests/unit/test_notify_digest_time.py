"""The daily breach digest is due at the next HH:MM Beijing time, whatever the server's clock zone."""

from datetime import UTC, datetime

import pytest

from services.notify.service.reminders import next_digest_at

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(("now", "due"), [
    (datetime(2026, 11, 23, 0, 30, tzinfo=UTC), datetime(2026, 11, 23, 1, 0, tzinfo=UTC)),  # 08:30 Beijing
    (datetime(2026, 11, 23, 1, 0, tzinfo=UTC), datetime(2026, 11, 24, 1, 0, tzinfo=UTC)),   # exactly 09:00
    (datetime(2026, 11, 23, 20, 0, tzinfo=UTC), datetime(2026, 11, 24, 1, 0, tzinfo=UTC)),  # 04:00 next day
])
def test_the_digest_is_due_at_the_next_nine_oclock_beijing_time(now: datetime, due: datetime) -> None:
    assert next_digest_at(now=now, time_of_day="09:00") == due
