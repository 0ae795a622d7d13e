"""Reading a service's `GET /metrics` as a user's Prometheus would."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from prometheus_client.parser import text_string_to_metric_families

#: (sample name, its labels) -> value
Scrape = dict[tuple[str, frozenset[tuple[str, str]]], float]


def parse(text: str) -> Scrape:
    """Every sample of a Prometheus text exposition."""
    return {(s.name, frozenset(s.labels.items())): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def scrape(client: Any, base: str = "") -> Scrape:
    """Scrape a running service (a TestClient, or httpx with the service's URL as `base`)."""
    response = client.get(f"{base}/metrics")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    return parse(response.text)


def total(samples: Scrape, name: str, **labels: str) -> float:
    """The sum of the samples of `name` whose labels include `labels` (0 when there is none)."""
    return sum(v for (n, ls), v in samples.items() if n == name and set(labels.items()) <= ls)


def present(samples: Scrape, name: str, **labels: str) -> bool:
    """Whether any sample of `name` carries `labels`."""
    return any(n == name and set(labels.items()) <= ls for (n, ls) in samples)


def scrape_when(client: Any, check: Callable[[Scrape], bool], base: str = "") -> Scrape | None:
    """A scrape for which `check` holds, else None (to wait on with wait_until)."""
    samples = scrape(client, base)
    return samples if check(samples) else None


def consumer_of(client: Any, topic: str) -> Any:
    """The consumer of `topic` in a service running in this process (a TestClient)."""
    return next(c for c in client.app.state.runtime.consumers if c.stats()["topic"] == topic)


def strand_outbox_entries(db: Any, *, topic: str, count: int, age_s: float, lease_s: float) -> None:
    """Pending outbox entries `age_s` old, as a process leaves them that died before publishing
    them: still leased to it for `lease_s`, then any relay's poll takes them."""
    now = datetime.now(UTC)
    db.outbox.insert_many([
        {"_id": uuid.uuid4().hex, "topic": topic, "key": "c-metrics", "message_type": "NotificationSent",
         "payload": "{}", "headers": {}, "kafka_headers": {}, "state": "pending", "attempts": 0,
         "created_at": now - timedelta(seconds=age_s), "lease_until": now + timedelta(seconds=lease_s)}
        for _ in range(count)])
