"""Where the trace endpoint reads a complaint's spans: the span store, else Jaeger's query service, else 501."""

from __future__ import annotations

import logging
from typing import Any

from services.intake.adapters.jaeger import TraceQueryFailed, read_trace_from_jaeger
from services.intake.api.errors import refuse
from shared.settings import ServiceSettings
from shared.telemetry import read_trace

log = logging.getLogger(__name__)


def spans_of(*, settings: ServiceSettings, trace_id: str) -> tuple[str, list[dict[str, Any]]]:
    """The trace's spans, oldest first, and where they were read (`span_store` or `jaeger`).

    Spans sent to an OTLP collector are not in the span store: they are read back from Jaeger's
    query API when COMPLAINTS_TRACE_QUERY_URL names it; without it the answer is 501 saying so
    (an empty list would read as "nothing happened"), 502 when Jaeger fails."""
    if not settings.otel_exporter_otlp_endpoint:
        return "span_store", read_trace(uri=settings.span_store_uri, db=settings.telemetry_db, trace_id=trace_id,
                                        timeout_ms=settings.mongodb_timeout_ms)
    if not settings.trace_query_url:
        refuse(501, reason="trace_query_not_configured",
               en=f"spans go to an OpenTelemetry collector (OTEL_EXPORTER_OTLP_ENDPOINT) and no trace query "
                  f"service is configured: set COMPLAINTS_TRACE_QUERY_URL to Jaeger's query address, or look "
                  f"up trace {trace_id} in your tracing backend",
               zh=f"调用链已发送至 OpenTelemetry 采集器，且未配置查询服务（COMPLAINTS_TRACE_QUERY_URL）；"
                  f"请在追踪系统中按 trace id {trace_id} 查询")
    try:
        return "jaeger", read_trace_from_jaeger(base_url=settings.trace_query_url, trace_id=trace_id)
    except TraceQueryFailed as exc:
        log.warning("trace %s not read from the trace query service: %s", trace_id, exc)
        refuse(502, reason="trace_query_failed",
               en=f"the trace query service (COMPLAINTS_TRACE_QUERY_URL) failed to answer for trace {trace_id}; "
                  f"try again later",
               zh=f"调用链查询服务暂时无法返回 trace {trace_id}，请稍后重试")
