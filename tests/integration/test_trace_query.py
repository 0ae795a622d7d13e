"""The trace endpoint under an OTLP collector: spans read back from Jaeger's query API (v3, else the
older one), and a 501 problem saying why when no query service is configured."""

from __future__ import annotations

import pytest
from fastapi import HTTPException
from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from services.intake.api.tracing import spans_of
from shared.settings import ServiceSettings
from tests.support.jaeger_query import jaeger_query

pytestmark = pytest.mark.integration


def complaint_trace() -> list[ReadableSpan]:
    """A filing in intake and its handling in evidence: one trace across two services, as exported."""
    exporter = InMemorySpanExporter()
    providers = {}
    for name in ("intake", "evidence"):
        providers[name] = TracerProvider(resource=Resource.create({"service.name": name}))
        providers[name].add_span_processor(SimpleSpanProcessor(exporter))
    intake, evidence = (providers[n].get_tracer("test") for n in ("intake", "evidence"))
    note = {"http.route": "/v1/complaints", "note": "卡密 ABCD-1234-EFGH-5678"}
    with intake.start_as_current_span("POST /v1/complaints", kind=trace.SpanKind.SERVER, attributes=note), \
            intake.start_as_current_span("complaints.intake.events publish", kind=trace.SpanKind.PRODUCER), \
            evidence.start_as_current_span("complaints.intake.events process", kind=trace.SpanKind.CONSUMER):
        pass
    return list(exporter.get_finished_spans())


def collector_settings(query_url: str | None) -> ServiceSettings:
    return ServiceSettings(otel_exporter_otlp_endpoint="http://collector:4317", trace_query_url=query_url)


@pytest.mark.parametrize("legacy", [False, True], ids=["api-v3", "api-traces"])
def test_spans_sent_to_a_collector_are_read_back_from_jaeger(legacy: bool) -> None:
    exported = complaint_trace()
    trace_id = format(exported[0].context.trace_id, "032x")
    with jaeger_query(exported, legacy=legacy) as url:
        source, spans = spans_of(settings=collector_settings(url), trace_id=trace_id)
    assert source == "jaeger"
    expected = {format(s.context.span_id, "016x"): s for s in exported}
    assert {s["span_id"] for s in spans} == set(expected) and {s["trace_id"] for s in spans} == {trace_id}
    for span in spans:
        original = expected[span["span_id"]]
        assert span["name"] == original.name and span["kind"] == original.kind.name
        assert span["service"] == original.resource.attributes["service.name"]
        assert span["parent_span_id"] == (format(original.parent.span_id, "016x") if original.parent else None)
    assert [s["name"] for s in spans][0] == "POST /v1/complaints", "oldest first"
    root = spans[0]
    assert root["attributes"]["http_route"] == "/v1/complaints"
    assert "ABCD-1234" not in root["attributes"]["note"], "a card key in an attribute is masked as in the span store"


def test_a_trace_jaeger_does_not_hold_is_empty_not_an_error() -> None:
    with jaeger_query(complaint_trace()) as url:
        assert spans_of(settings=collector_settings(url), trace_id="0" * 31 + "1") == ("jaeger", [])


def test_without_a_query_service_the_answer_is_501_saying_what_to_set() -> None:
    with pytest.raises(HTTPException) as refused:
        spans_of(settings=collector_settings(None), trace_id="4bf92f3577b34da6a3ce929d0e0e4736")
    assert refused.value.status_code == 501
    assert refused.value.detail["rule"] == "trace_query_not_configured"
    assert "COMPLAINTS_TRACE_QUERY_URL" in refused.value.detail["message_en"]
    assert "4bf92f3577b34da6a3ce929d0e0e4736" in refused.value.detail["message_en"]


def test_a_query_service_that_does_not_answer_is_a_502() -> None:
    with jaeger_query([]) as url:
        pass  # the port is closed again: nothing answers there
    with pytest.raises(HTTPException) as refused:
        spans_of(settings=collector_settings(url), trace_id="4bf92f3577b34da6a3ce929d0e0e4736")
    assert refused.value.status_code == 502 and refused.value.detail["rule"] == "trace_query_failed"
