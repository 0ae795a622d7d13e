"""When to retry a failed webhook delivery, and when to pause an endpoint that keeps failing."""

import random
from datetime import UTC, datetime, timedelta

from pydantic import AwareDatetime, BaseModel, ConfigDict

HORIZON = timedelta(days=3)
BASE_DELAY = timedelta(seconds=30)
MAX_DELAY = timedelta(hours=12)
MAX_ATTEMPTS = 30
# Pause rule: at least 10 failed attempts in a row, the first and last at least 24 h apart, no
# success in between. Paused endpoints keep their pending deliveries; nothing is sent until the
# owner re-enables the endpoint (reset to EndpointHealth()), then pending ones are resumed.
PAUSE_AFTER_FAILURES = 10
PAUSE_AFTER_SPAN = timedelta(hours=24)


def next_attempt_at(*, first_attempt_at: datetime, last_attempt_at: datetime, attempts_made: int,
                    rng: random.Random | None = None, base: timedelta = BASE_DELAY,
                    max_delay: timedelta = MAX_DELAY, horizon: timedelta = HORIZON,
                    max_attempts: int = MAX_ATTEMPTS) -> datetime | None:
    """When to try again after attempts_made failures, or None when it is time to give up."""
    limit = first_attempt_at + horizon
    if attempts_made >= max_attempts or last_attempt_at >= limit:
        return None
    ceiling = min(max_delay, base * 2 ** max(attempts_made - 1, 0))
    # Full jitter: spread retries over [0, ceiling] so endpoints that come back are not stampeded.
    delay = (rng or random).random() * ceiling
    return min(last_attempt_at + delay, limit)


def retry_schedule(*, rng: random.Random | None = None, base: timedelta = BASE_DELAY,
                   max_delay: timedelta = MAX_DELAY, horizon: timedelta = HORIZON,
                   max_attempts: int = MAX_ATTEMPTS) -> list[timedelta]:
    """Offsets from the first attempt of every attempt if all fail; the first offset is zero."""
    start = datetime(2000, 1, 1, tzinfo=UTC)
    times = [start]
    while (following := next_attempt_at(first_attempt_at=start, last_attempt_at=times[-1],
                                        attempts_made=len(times), rng=rng, base=base, max_delay=max_delay,
                                        horizon=horizon, max_attempts=max_attempts)) is not None:
        times.append(following)
    return [moment - start for moment in times]


class EndpointHealth(BaseModel):
    """Consecutive failures of one endpoint across all its deliveries; paused_at set when paused."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    consecutive_failures: int = 0
    failing_since: AwareDatetime | None = None
    last_failure_at: AwareDatetime | None = None
    paused_at: AwareDatetime | None = None

    @property
    def paused(self) -> bool:
        """True while deliveries to this endpoint are held until its owner re-enables it."""
        return self.paused_at is not None


def record_attempt(*, health: EndpointHealth, ok: bool, at: datetime,
                   failures: int = PAUSE_AFTER_FAILURES, span: timedelta = PAUSE_AFTER_SPAN) -> EndpointHealth:
    """Health after one attempt: any success resets it; enough failures over a long enough span pause it."""
    if ok:
        return EndpointHealth()
    since = health.failing_since or at
    count = health.consecutive_failures + 1
    # Both conditions: a count alone would pause on a short burst of traffic during a brief outage,
    # a span alone would pause after two failures a day apart.
    pause = health.paused_at or (at if count >= failures and at - since >= span else None)
    return EndpointHealth(consecutive_failures=count, failing_since=since, last_failure_at=at, paused_at=pause)
