"""With an OTLP endpoint set, a service's spans go to that collector (gRPC), named for the service."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2, trace_service_pb2_grpc

from shared.telemetry import create_tracer_provider
from tests.support.otlp_collector import serving

pytestmark = pytest.mark.unit


class Collector(trace_service_pb2_grpc.TraceServiceServicer):
    """An OTLP trace receiver that keeps every request."""

    def __init__(self) -> None:
        self.requests: list[trace_service_pb2.ExportTraceServiceRequest] = []
        self.arrived = threading.Event()

    def Export(self, request: Any, context: Any) -> Any:  # noqa: N802 - the gRPC method's name
        self.requests.append(request)
        self.arrived.set()
        return trace_service_pb2.ExportTraceServiceResponse()


@pytest.fixture
def collector() -> Iterator[tuple[Collector, int]]:
    received = Collector()
    with serving(received, trace_service_pb2_grpc.add_TraceServiceServicer_to_server) as port:
        yield received, port


def test_spans_go_to_the_otlp_collector_when_one_is_configured(collector: tuple[Collector, int]) -> None:
    received, port = collector
    provider = create_tracer_provider(service_name="intake", otlp_endpoint=f"http://127.0.0.1:{port}",
                                      mongodb_uri="mongodb://127.0.0.1:1", telemetry_db="unused",
                                      timeout_ms=500, export_delay_ms=50)
    with provider.get_tracer("test").start_as_current_span("POST /v1/complaints"):
        pass
    assert provider.force_flush(timeout_millis=10_000)
    provider.shutdown()

    assert received.arrived.wait(10)
    [spans] = received.requests[0].resource_spans
    service = {a.key: a.value.string_value for a in spans.resource.attributes}["service.name"]
    assert service == "intake"
    assert [s.name for scope in spans.scope_spans for s in scope.spans] == ["POST /v1/complaints"]
