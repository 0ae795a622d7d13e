"""Scrape the services' `GET /metrics` while they work and print what each figure showed.

A thread scrapes every service every --interval seconds and prints one line per round (lag,
outbox backlog, oldest pending entry, records applied, webhook queue); at the end it prints, per
service, each figure's peak and its value once the queues drained after the work (lag, outbox,
webhook queue at 0; at most a minute), and what the counters and histograms added up during the
watch. `bench.lifecycle --metrics` and `bench.notify_webhooks --metrics` run it alongside their
load. Standalone, against running services (`complaints up` serves them on 8001-8004):
Run: .venv/bin/python -m bench.metrics_watch [--duration 60 --interval 2] [URL ...]
"""

from __future__ import annotations

import argparse
import threading
import time
from collections.abc import Callable
from typing import Any

import httpx

from bench.harness import console
from tests.support.metrics import Scrape, parse

#: Gauges: what was pending at each scrape (peak and last are reported).
GAUGES = {
    "lag": ("complaints_consumer_lag", {}),
    "outbox_pending": ("complaints_outbox_backlog", {"state": "pending"}),
    "outbox_failed": ("complaints_outbox_backlog", {"state": "failed"}),
    "outbox_oldest_s": ("complaints_outbox_oldest_pending_age_seconds", {}),
    "webhook_queue": ("complaints_webhook_queue_depth", {}),
    "webhook_oldest_s": ("complaints_webhook_oldest_pending_age_seconds", {}),
}
#: Gauges that are 0 once the work is done and settled.
QUEUES = ("lag", "outbox_pending", "webhook_queue")
#: How long the watch waits, after the work, for those to drain.
DRAIN_S = 60.0
#: Counters and histograms: how much each grew during the watch.
COUNTERS = {
    "records_processed": ("complaints_consumer_records_processed_total", {}),
    "records_dead_lettered": ("complaints_consumer_records_dead_lettered_total", {}),
    "outbox_published": ("complaints_outbox_published_total", {}),
    "http_requests": ("http_server_duration_milliseconds_count", {}),
    "http_5xx": ("http_server_duration_milliseconds_count", {"http_status_code": "5"}),
    "http_ms_sum": ("http_server_duration_milliseconds_sum", {}),
    "timers_fired": ("complaints_timer_lag_seconds_count", {}),
    "timer_lag_s_sum": ("complaints_timer_lag_seconds_sum", {}),
    "sla_warnings": ("complaints_sla_warnings_total", {}),
    "sla_breaches": ("complaints_sla_breaches_total", {}),
    "webhook_failures": ("complaints_webhook_failures_total", {}),
    "delivery_attempts": ("complaints_delivery_attempts_total", {}),
}


def figure(samples: Scrape, name: str, labels: dict[str, str], *, peak: bool = False) -> float:
    """Sum (or, for ages, max) of the samples of `name` whose labels match; a label value given as a
    one-character prefix ("5" for 5xx) matches by prefix."""
    values = [v for (n, ls), v in samples.items() if n == name and all(
        (dict(ls).get(k, "").startswith(want) if len(want) == 1 else dict(ls).get(k) == want)
        for k, want in labels.items())]
    return max(values, default=0.0) if peak else sum(values)


def read(samples: Scrape) -> dict[str, float]:
    """The watched figures of one scrape."""
    out = {key: figure(samples, name, labels, peak=key.endswith("_s")) for key, (name, labels) in GAUGES.items()}
    out |= {key: figure(samples, name, labels) for key, (name, labels) in COUNTERS.items()}
    return out


def timer_buckets(samples: Scrape) -> dict[str, float]:
    """The timer-lag histogram's cumulative buckets (le -> timers fired within it)."""
    buckets: dict[str, float] = {}
    for (name, labels), value in samples.items():
        if name == "complaints_timer_lag_seconds_bucket":
            le = dict(labels)["le"]
            buckets[le] = buckets.get(le, 0.0) + value
    return buckets


class MetricsWatch:
    """Scrapes each service's /metrics in a thread until stopped; `summary()` tells what moved."""

    def __init__(self, urls: dict[str, str], *, interval: float = 2.0,
                 progress: Callable[[str], None] = console.print) -> None:
        self._urls, self._interval, self._progress = urls, interval, progress
        self.rounds: list[tuple[float, dict[str, dict[str, float]]]] = []
        self.first: dict[str, Scrape] = {}
        self.last: dict[str, Scrape] = {}
        self.scrape_ms: list[float] = []
        self.drained_after_s: float | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="metrics-watch", daemon=True)

    def __enter__(self) -> MetricsWatch:
        self._started = time.monotonic()
        self._thread.start()
        return self

    def __exit__(self, *_: Any) -> None:
        self._stop.set()
        self._thread.join(timeout=30)
        # Once the work is done: scrape until the queues are empty (settling trails the work), at most DRAIN_S.
        began = time.monotonic()
        while True:
            self._scrape_all()
            _, figures = self.rounds[-1]
            if all(f[k] == 0 for f in figures.values() for k in QUEUES) or time.monotonic() - began > DRAIN_S:
                break
            time.sleep(self._interval)
        self.drained_after_s = round(time.monotonic() - began, 1)

    def _scrape_all(self) -> None:
        now = round(time.monotonic() - self._started, 1)
        figures = {}
        with httpx.Client(timeout=10) as client:
            for name, url in self._urls.items():
                try:
                    began = time.perf_counter()
                    answer = client.get(f"{url}/metrics")
                    self.scrape_ms.append((time.perf_counter() - began) * 1000)
                    samples = parse(answer.text)
                except httpx.HTTPError as exc:
                    self._progress(f"[{now:>6}s] {name}: /metrics did not answer ({exc})")
                    continue
                self.first.setdefault(name, samples)
                self.last[name] = samples
                figures[name] = read(samples)
        self.rounds.append((now, figures))
        self._progress(f"[{now:>6}s] " + "  ".join(
            f"{n}: lag {f['lag']:.0f} outbox {f['outbox_pending']:.0f} ({f['outbox_oldest_s']:.1f}s) "
            f"applied {f['records_processed']:.0f}" + (f" webhooks {f['webhook_queue']:.0f}" if n == "notify" else "")
            for n, f in figures.items()))

    def _run(self) -> None:
        while not self._stop.is_set():
            self._scrape_all()
            self._stop.wait(self._interval)

    def summary(self) -> dict[str, Any]:
        """Per service: each gauge's peak and last value, each counter's growth during the watch."""
        out: dict[str, Any] = {}
        for name in self._urls:
            seen = [figures[name] for _, figures in self.rounds if name in figures]
            if not seen:
                continue
            first, last = read(self.first[name]), read(self.last[name])
            out[name] = {
                "gauges_peak_last": {k: [round(max(f[k] for f in seen), 2), round(last[k], 2)] for k in GAUGES},
                "counters_during_watch": {k: round(last[k] - first[k], 2) for k in COUNTERS},
            }
            fired = last["timers_fired"] - first["timers_fired"]
            if fired:
                out[name]["timer_lag_mean_s"] = round((last["timer_lag_s_sum"] - first["timer_lag_s_sum"]) / fired, 3)
                before, after = timer_buckets(self.first[name]), timer_buckets(self.last[name])
                out[name]["timers_fired_within_s"] = {le: after[le] - before.get(le, 0.0) for le in after}
            requests = last["http_requests"] - first["http_requests"]
            if requests:
                out[name]["http_mean_ms"] = round((last["http_ms_sum"] - first["http_ms_sum"]) / requests, 1)
        scrapes = sorted(self.scrape_ms)
        out["scrapes"] = {"rounds": len(self.rounds), "interval_s": self._interval,
                          "queues_empty_after_work_s": self.drained_after_s,
                          "p50_ms": round(scrapes[len(scrapes) // 2], 1) if scrapes else None,
                          "max_ms": round(scrapes[-1], 1) if scrapes else None}
        return out


def main() -> None:
    """Watch running services for --duration seconds and print the summary."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("urls", nargs="*", default=[f"http://127.0.0.1:{p}" for p in (8001, 8002, 8003, 8004)])
    parser.add_argument("--duration", type=float, default=60.0)
    parser.add_argument("--interval", type=float, default=2.0)
    args = parser.parse_args()
    names = ("intake", "evidence", "escalation", "notify")
    urls = {names[i] if i < len(names) else url: url for i, url in enumerate(args.urls)}
    with MetricsWatch(urls, interval=args.interval) as watch:
        time.sleep(args.duration)
    console.print_json(data=watch.summary())


if __name__ == "__main__":
    main()
