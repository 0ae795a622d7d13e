"""The metrics plumbing: one registry per service, sampled figures, and the OTLP push when an endpoint is set."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator

import pytest
from opentelemetry.proto.collector.metrics.v1 import metrics_service_pb2, metrics_service_pb2_grpc

from shared.metrics import ServiceMetrics
from tests.support.metrics import parse, total
from tests.support.otlp_collector import serving

pytestmark = pytest.mark.unit


def render(metrics: ServiceMetrics) -> str:
    body, content_type = asyncio.run(metrics.render())
    assert content_type.startswith("text/plain")
    return body.decode()


def test_two_services_in_one_process_keep_their_own_figures() -> None:
    intake = ServiceMetrics(service_name="intake", otlp_endpoint=None)
    notify = ServiceMetrics(service_name="notify", otlp_endpoint=None)
    for metrics, n in ((intake, 2), (notify, 5)):
        metrics.meter.create_counter("complaints.sla.breaches").add(n, {"clock": "first_response"})
    assert total(parse(render(intake)), "complaints_sla_breaches_total") == 2
    assert total(parse(render(notify)), "complaints_sla_breaches_total") == 5
    assert 'service_name="notify"' in render(notify) and 'service_name="notify"' not in render(intake)


def test_a_sampled_gauge_shows_the_last_figures_when_its_sampler_fails() -> None:
    metrics = ServiceMetrics(service_name="notify", otlp_endpoint=None)
    answers: list[dict[str, list[tuple[float, dict[str, str]]]] | Exception] = [
        {"complaints.webhook.queue_depth": [(3.0, {"endpoint": "sub-1"})]}, ConnectionError("store away")]

    def sample() -> dict[str, list[tuple[float, dict[str, str]]]]:
        answer = answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer

    metrics.gauges(sample, {"complaints.webhook.queue_depth": ("{delivery}", "pending")})
    assert total(parse(render(metrics)), "complaints_webhook_queue_depth", endpoint="sub-1") == 3
    metrics._sampled_at = -1.0  # as if MIN_REFRESH_S had passed
    assert total(parse(render(metrics)), "complaints_webhook_queue_depth", endpoint="sub-1") == 3
    assert answers == [], "the failing sampler was asked"


class _Collector(metrics_service_pb2_grpc.MetricsServiceServicer):
    def __init__(self) -> None:
        self.names: set[str] = set()
        self.services: set[str] = set()
        self.received = threading.Event()

    def Export(self, request, context):  # noqa: N802 - the gRPC method's name
        for resource_metrics in request.resource_metrics:
            self.services.update(a.value.string_value for a in resource_metrics.resource.attributes
                                 if a.key == "service.name")
            self.names.update(m.name for scope in resource_metrics.scope_metrics for m in scope.metrics)
        self.received.set()
        return metrics_service_pb2.ExportMetricsServiceResponse()


@pytest.fixture
def collector() -> Iterator[tuple[str, _Collector]]:
    servicer = _Collector()
    with serving(servicer, metrics_service_pb2_grpc.add_MetricsServiceServicer_to_server) as port:
        yield f"http://127.0.0.1:{port}", servicer


def test_with_an_otlp_endpoint_the_figures_are_pushed_to_the_collector_too(
        collector: tuple[str, _Collector], monkeypatch: pytest.MonkeyPatch) -> None:
    endpoint, received = collector
    monkeypatch.setenv("OTEL_METRIC_EXPORT_INTERVAL", "200")
    metrics = ServiceMetrics(service_name="escalation", otlp_endpoint=endpoint)
    assert metrics.pushes
    metrics.meter.create_histogram("complaints.timer.lag", unit="s").record(0.4, {"kind": "breach"})

    async def push_once() -> None:
        task = asyncio.create_task(metrics.run())
        try:
            assert await asyncio.to_thread(received.received.wait, 10), "nothing reached the collector"
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)

    asyncio.run(push_once())
    assert "complaints.timer.lag" in received.names and received.services == {"escalation"}
    assert total(parse(render(metrics)), "complaints_timer_lag_seconds_count", kind="breach") == 1
