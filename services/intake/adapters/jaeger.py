"""Reading one trace from Jaeger's query service (v2: `/api/v3/traces/{id}`, else `/api/traces/{id}`),
as the span store's documents: trace_id, span_id, parent_span_id, name, kind, service, start, end,
status, attributes (masked)."""

from __future__ import annotations

import base64
import binascii
from datetime import UTC, datetime
from typing import Any

import httpx

from shared.telemetry import span_attributes

#: How long the trace endpoint waits for Jaeger before answering 502.
TIMEOUT_S = 5.0
_OTLP_KINDS = {1: "INTERNAL", 2: "SERVER", 3: "CLIENT", 4: "PRODUCER", 5: "CONSUMER"}
_OTLP_STATUS = {0: "UNSET", 1: "OK", 2: "ERROR"}


class TraceQueryFailed(Exception):
    """Jaeger did not answer, or answered something that is not a trace."""


def read_trace_from_jaeger(*, base_url: str, trace_id: str, timeout_s: float = TIMEOUT_S) -> list[dict[str, Any]]:
    """Every span Jaeger holds of one trace, oldest first; [] when it holds none (yet)."""
    base = base_url.rstrip("/")
    try:
        with httpx.Client(timeout=timeout_s) as client:
            answer = client.get(f"{base}/api/v3/traces/{trace_id}")
            if answer.status_code == 200:
                return _sorted(_from_otlp(answer.json()))
            if answer.status_code != 404:
                raise TraceQueryFailed(f"{base}/api/v3/traces answered {answer.status_code}")
            # 404: not found, or a Jaeger without the v3 API: ask the older one.
            answer = client.get(f"{base}/api/traces/{trace_id}")
            if answer.status_code == 404:
                return []
            if answer.status_code != 200:
                raise TraceQueryFailed(f"{base}/api/traces answered {answer.status_code}")
            return _sorted(_from_legacy(answer.json()))
    except httpx.HTTPError as exc:
        raise TraceQueryFailed(f"{base} did not answer: {type(exc).__name__}: {exc}") from exc
    except (ValueError, KeyError, TypeError) as exc:
        raise TraceQueryFailed(f"{base} answered something that is not a trace: {exc}") from exc


def _sorted(spans: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return sorted(spans, key=lambda span: span["start"])


def _hex(value: str | None, width: int) -> str | None:
    """An id as hex: Jaeger v2 writes hex; some gateways write the bytes in base64."""
    if not value:
        return None
    if len(value) == width and all(c in "0123456789abcdefABCDEF" for c in value):
        return value.lower()
    try:
        return base64.b64decode(value, validate=True).hex()
    except (binascii.Error, ValueError):
        return value


def _value(any_value: dict[str, Any]) -> Any:
    for key in ("stringValue", "boolValue", "doubleValue"):
        if key in any_value:
            return any_value[key]
    if "intValue" in any_value:
        return int(any_value["intValue"])
    if "arrayValue" in any_value:
        return [_value(v) for v in any_value["arrayValue"].get("values", [])]
    return None


def _nanos(value: str | int) -> datetime:
    return datetime.fromtimestamp(int(value) / 1e9, UTC)


def _enum(value: Any, names: dict[int, str], prefix: str) -> str:
    if isinstance(value, int):
        return names.get(value, "UNSET")
    return str(value or "").removeprefix(prefix) or names.get(0, "UNSET")


def _from_otlp(body: dict[str, Any]) -> list[dict[str, Any]]:
    """Spans of an api_v3 answer (OTLP JSON under `result`)."""
    spans: list[dict[str, Any]] = []
    for resource_spans in body.get("result", body).get("resourceSpans", []):
        resource = {a["key"]: _value(a["value"]) for a in resource_spans.get("resource", {}).get("attributes", [])}
        for scope in resource_spans.get("scopeSpans", []):
            for span in scope.get("spans", []):
                attributes = {a["key"]: _value(a["value"]) for a in span.get("attributes", [])}
                spans.append({
                    "trace_id": _hex(span["traceId"], 32), "span_id": _hex(span["spanId"], 16),
                    "parent_span_id": _hex(span.get("parentSpanId"), 16), "name": span["name"],
                    "kind": _enum(span.get("kind", 1), _OTLP_KINDS, "SPAN_KIND_"),
                    "service": resource.get("service.name"),
                    "start": _nanos(span["startTimeUnixNano"]), "end": _nanos(span["endTimeUnixNano"]),
                    "status": _enum(span.get("status", {}).get("code", 0), _OTLP_STATUS, "STATUS_CODE_"),
                    "attributes": span_attributes(attributes)})
    return spans


def _from_legacy(body: dict[str, Any]) -> list[dict[str, Any]]:
    """Spans of an `/api/traces/{id}` answer (Jaeger's own JSON: tags, references, processes)."""
    spans: list[dict[str, Any]] = []
    for trace in body.get("data") or []:
        processes = trace.get("processes", {})
        for span in trace.get("spans", []):
            tags = {t["key"]: t.get("value") for t in span.get("tags", [])}
            parent = next((r["spanID"] for r in span.get("references", []) if r.get("refType") == "CHILD_OF"), None)
            start = int(span["startTime"])  # microseconds
            spans.append({
                "trace_id": _hex(span["traceID"], 32), "span_id": _hex(span["spanID"], 16),
                "parent_span_id": _hex(parent, 16), "name": span["operationName"],
                "kind": str(tags.pop("span.kind", "internal")).upper(),
                "service": processes.get(span.get("processID"), {}).get("serviceName"),
                "start": datetime.fromtimestamp(start / 1e6, UTC),
                "end": datetime.fromtimestamp((start + int(span.get("duration", 0))) / 1e6, UTC),
                "status": "ERROR" if tags.pop("error", False) or tags.get("otel.status_code") == "ERROR" else "UNSET",
                "attributes": span_attributes({k: v for k, v in tags.items() if not k.startswith("otel.")})})
    return spans
