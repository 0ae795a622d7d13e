"""Metrics: a meter provider per service, read at `GET /metrics` (Prometheus) and pushed by OTLP when set.

Each service gets its own Prometheus registry (never the process-wide one), so several services in
one process (the tests) do not collide. Figures that cost a look at the store or the broker (consumer
lag, the outbox backlog, notify's webhook queue) are sampled just before a scrape, at most once per
`MIN_REFRESH_S`, and every `OTEL_METRIC_EXPORT_INTERVAL` when OTLP pushes them; the instruments read
the last sample. Counters and histograms are recorded where the work happens.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping
from typing import Any

from fastapi.responses import Response
from opentelemetry.exporter.prometheus import PrometheusMetricReader
from opentelemetry.metrics import CallbackOptions, Meter, Observation
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader, MetricReader
from opentelemetry.sdk.metrics.view import ExplicitBucketHistogramAggregation, View
from opentelemetry.sdk.resources import Resource
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

log = logging.getLogger(__name__)

#: A scrape within this long of the last sample reads that sample again.
MIN_REFRESH_S = 1.0
#: How long one sampler may take before the last figures are served instead.
SAMPLE_TIMEOUT_S = 5.0
#: Delays, from a timer's due time to its firing (seconds): most fire within a poll, a backlog shows late.
LAG_BUCKETS_S = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0, 900.0, 3600.0)

#: Observations of one gauge: (value, attributes) pairs.
Samples = list[tuple[float, dict[str, str]]]
#: A sampler: reads the store or the broker and returns each gauge's observations by gauge name.
Sampler = Callable[[], Mapping[str, Samples] | Awaitable[Mapping[str, Samples]]]


class ServiceMetrics:
    """One service's meter provider, its Prometheus registry and the samplers of its costly figures."""

    def __init__(self, *, service_name: str, otlp_endpoint: str | None) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        readers: list[MetricReader] = [PrometheusMetricReader(registry=self.registry)]
        #: Read by the push loop (`run`), which exists only once the service runs with an OTLP endpoint:
        #: an app built and never started (a test, a check of its wiring) opens no connection.
        self._otlp_endpoint = otlp_endpoint
        self._push_reader = InMemoryMetricReader() if otlp_endpoint else None
        if self._push_reader is not None:
            readers.append(self._push_reader)
        self.pushes = bool(otlp_endpoint)
        self.provider = MeterProvider(
            resource=Resource.create({"service.name": service_name}), metric_readers=readers, shutdown_on_exit=False,
            views=[View(instrument_name="complaints.timer.lag", aggregation=ExplicitBucketHistogramAggregation(
                LAG_BUCKETS_S))])
        self.meter: Meter = self.provider.get_meter("complaints")
        self._samplers: list[Sampler] = []
        self._last: dict[str, Samples] = {}
        self._sampled_at = -MIN_REFRESH_S
        self._lock: asyncio.Lock | None = None

    def gauges(self, sampler: Sampler, gauges: Mapping[str, tuple[str, str]]) -> None:
        """Observable gauges `{name: (unit, description)}` whose figures `sampler` returns by name
        (a plain function runs in a worker thread, a coroutine function on the loop)."""
        self._samplers.append(sampler)
        for name, (unit, description) in gauges.items():
            self.meter.create_observable_gauge(name, callbacks=[self._reader(name)], unit=unit,
                                               description=description)

    def counters(self, read: Callable[[], Mapping[str, Samples]], counters: Mapping[str, tuple[str, str]]) -> None:
        """Observable counters `{name: (unit, description)}` read from running totals the process keeps."""
        def reader(name: str) -> Callable[[CallbackOptions], Iterable[Observation]]:
            return lambda _options: [Observation(value, attrs) for value, attrs in read().get(name, [])]

        for name, (unit, description) in counters.items():
            self.meter.create_observable_counter(name, callbacks=[reader(name)], unit=unit, description=description)

    def _reader(self, name: str) -> Callable[[CallbackOptions], Iterable[Observation]]:
        return lambda _options: [Observation(value, attrs) for value, attrs in self._last.get(name, [])]

    async def refresh(self) -> None:
        """Sample every costly figure now (once per MIN_REFRESH_S however many ask); a sampler that
        fails or is slow keeps its last figures, logged."""
        self._lock = self._lock or asyncio.Lock()
        async with self._lock:
            if time.monotonic() - self._sampled_at < MIN_REFRESH_S:
                return
            for sampler in self._samplers:
                try:
                    async with asyncio.timeout(SAMPLE_TIMEOUT_S):
                        figures: Any = (await sampler() if inspect.iscoroutinefunction(sampler)
                                        else await asyncio.to_thread(sampler))
                    self._last.update(figures)
                except Exception as exc:  # a store or broker away: the last figures stay
                    log.warning("metrics sampler %s failed: %r", getattr(sampler, "__qualname__", sampler), exc)
            self._sampled_at = time.monotonic()

    async def render(self) -> tuple[bytes, str]:
        """The Prometheus text exposition of every figure, sampled now; and its content type."""
        await self.refresh()
        return generate_latest(self.registry), CONTENT_TYPE_LATEST

    async def run(self) -> None:
        """Push every figure by OTLP every `OTEL_METRIC_EXPORT_INTERVAL` (60 s by default), sampled
        first: the background loop of a service with an OTLP endpoint."""
        from opentelemetry.exporter.otlp.proto.grpc.metric_exporter import OTLPMetricExporter

        assert self._push_reader is not None
        exporter = OTLPMetricExporter(endpoint=self._otlp_endpoint)
        try:
            while True:
                await asyncio.sleep(max(MIN_REFRESH_S, _export_interval_s()))
                await self.refresh()
                data = self._push_reader.get_metrics_data()
                if data is not None:
                    # Not on the loop: a collector that is away costs the exporter's retries.
                    await asyncio.to_thread(exporter.export, data)
        finally:
            exporter.shutdown()

    def shutdown(self) -> None:
        """Release the meter provider's instruments and readers."""
        self.provider.shutdown(timeout_millis=1_000)


def _export_interval_s() -> float:
    import os

    return float(os.environ.get("OTEL_METRIC_EXPORT_INTERVAL", "60000")) / 1000


def observe_runtime(metrics: ServiceMetrics, *, consumers: Callable[[], list[Any]], relay: Any) -> None:
    """What every service reports: its consumers' lag per partition and records processed and
    dead-lettered per topic; its outbox's backlog, oldest pending entry and entries published."""
    from shared.bus.lag import consumer_lag
    from shared.envelope import utcnow
    from shared.outbox import FAILED, PENDING, backlog

    async def lag() -> dict[str, Samples]:
        found: dict[tuple[str, str, int], int] = {}
        for lags in await asyncio.gather(*(consumer_lag(c) for c in consumers())):
            found.update(lags)
        return {"complaints.consumer.lag": [(float(n), {"topic": t, "group": g, "partition": str(p)})
                                            for (t, g, p), n in sorted(found.items())]}

    def outbox() -> dict[str, Samples]:
        counts, oldest = backlog()
        age = (utcnow() - oldest).total_seconds() if oldest is not None else 0.0
        return {"complaints.outbox.backlog": [(float(counts[PENDING]), {"state": PENDING}),
                                              (float(counts[FAILED]), {"state": FAILED})],
                "complaints.outbox.oldest_pending_age": [(max(age, 0.0), {})]}

    metrics.gauges(lag, {"complaints.consumer.lag": (
        "{record}", "Records of a partition not yet committed by its consumer group (end offset minus committed)")})
    metrics.gauges(outbox, {
        "complaints.outbox.backlog": ("{entry}", "Outbox entries not published: pending (to go) and failed (kept)"),
        "complaints.outbox.oldest_pending_age": ("s", "Age of the oldest pending outbox entry (0 when none)")})

    def records() -> dict[str, Samples]:
        stats = [c.stats() for c in consumers()]
        return {
            "complaints.consumer.records.processed": [(float(s["processed"]), {"topic": s["topic"],
                                                                                   "group": s["group"]})
                                                      for s in stats],
            "complaints.consumer.records.dead_lettered": [(float(s["dead_lettered"]), {"topic": s["topic"],
                                                                                       "group": s["group"]})
                                                          for s in stats],
            "complaints.outbox.published": [(float(relay.published_total), {})]}

    metrics.counters(records, {
        "complaints.consumer.records.processed": ("{record}", "Records applied by the service's consumers"),
        "complaints.consumer.records.dead_lettered": ("{record}", "Records parked on the topic's dead-letter twin"),
        "complaints.outbox.published": ("{entry}", "Outbox entries this process published")})


def install_metrics(app: Any, runtime: Any) -> None:
    """A service's figures: `observe_runtime`, a sampling loop when OTLP pushes them, and `GET
    /metrics`, their Prometheus text exposition (no token: scraped inside the cluster, no complaint data)."""
    metrics: ServiceMetrics = runtime.metrics
    observe_runtime(metrics, consumers=lambda: runtime.consumers, relay=runtime.relay)
    if metrics.pushes:
        runtime.background.append(metrics.run)

    @app.get("/metrics", tags=["operations"], summary="Metrics in the Prometheus text format (docs/metrics.md)",
             response_class=Response, responses={200: {"description": "Every figure of this service, sampled now",
                                                       "content": {"text/plain": {}}}})
    async def prometheus_metrics() -> Response:
        body, content_type = await metrics.render()
        return Response(body, media_type=content_type)
