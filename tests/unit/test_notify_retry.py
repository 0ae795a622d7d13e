"""Failed webhooks are retried with growing, jittered gaps for at most three days; dead endpoints pause."""

import random
from datetime import UTC, datetime, timedelta

import pytest

from services.notify.domain.retry import (
    HORIZON,
    MAX_DELAY,
    EndpointHealth,
    next_attempt_at,
    record_attempt,
    retry_schedule,
)

pytestmark = pytest.mark.unit

T0 = datetime(2026, 11, 23, 8, tzinfo=UTC)


class Extreme(random.Random):
    """Always draws the same fraction, to pin the jitter at its bounds."""

    def __init__(self, fraction: float) -> None:
        super().__init__()
        self.fraction = fraction

    def random(self) -> float:
        return self.fraction


@pytest.mark.parametrize("seed", range(50))
def test_schedule_stays_within_three_days_and_gaps_within_their_ceiling(seed: int) -> None:
    offsets = retry_schedule(rng=random.Random(seed))
    assert offsets[0] == timedelta(0)
    assert offsets[-1] <= HORIZON
    gaps = [b - a for a, b in zip(offsets, offsets[1:], strict=False)]
    for number, gap in enumerate(gaps):
        assert timedelta(0) <= gap <= min(MAX_DELAY, timedelta(seconds=30) * 2**number)


def test_slowest_draws_use_the_whole_three_days_and_stop() -> None:
    offsets = retry_schedule(rng=Extreme(0.999999))
    assert offsets[-1] == HORIZON
    assert 10 < len(offsets) <= 30
    assert timedelta(seconds=29) < offsets[1] < timedelta(seconds=31)


def test_fastest_draws_are_stopped_by_the_attempt_limit() -> None:
    assert len(retry_schedule(rng=Extreme(0.0), max_attempts=30)) == 30


def test_no_retry_after_the_horizon_or_the_limit() -> None:
    late = T0 + HORIZON
    assert next_attempt_at(first_attempt_at=T0, last_attempt_at=late, attempts_made=5) is None
    assert next_attempt_at(first_attempt_at=T0, last_attempt_at=T0, attempts_made=30) is None
    near_end = T0 + HORIZON - timedelta(minutes=1)
    nxt = next_attempt_at(first_attempt_at=T0, last_attempt_at=near_end, attempts_made=20, rng=Extreme(0.9))
    assert nxt == T0 + HORIZON


def fail_every(hours: float, times: int) -> EndpointHealth:
    health = EndpointHealth()
    for n in range(times):
        health = record_attempt(health=health, ok=False, at=T0 + timedelta(hours=hours * n))
    return health


def test_endpoint_failing_for_a_day_is_paused() -> None:
    health = fail_every(hours=3, times=10)  # 10 failures over 27 h
    assert health.paused and health.paused_at == T0 + timedelta(hours=27)


def test_burst_of_failures_in_a_short_outage_does_not_pause() -> None:
    assert not fail_every(hours=0.01, times=500).paused


def test_two_failures_a_day_apart_do_not_pause() -> None:
    assert not fail_every(hours=30, times=2).paused


def test_success_resets_the_count() -> None:
    health = record_attempt(health=fail_every(hours=3, times=9), ok=True, at=T0 + timedelta(days=2))
    assert health == EndpointHealth()
    assert not record_attempt(health=health, ok=False, at=T0 + timedelta(days=3)).paused
