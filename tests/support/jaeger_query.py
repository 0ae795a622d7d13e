"""A small HTTP server that answers trace queries like Jaeger v2 (`/api/v3/traces/{id}`, OTLP JSON with
hex ids) or, with `legacy=True`, like Jaeger's older `/api/traces/{id}` only, from recorded SDK spans."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from opentelemetry.sdk.trace import ReadableSpan


def _attributes(values: Any) -> list[dict[str, Any]]:
    out = []
    for key, value in (values or {}).items():
        if isinstance(value, bool):
            out.append({"key": key, "value": {"boolValue": value}})
        elif isinstance(value, int):
            out.append({"key": key, "value": {"intValue": str(value)}})  # OTLP JSON writes int64 as text
        else:
            out.append({"key": key, "value": {"stringValue": str(value)}})
    return out


def otlp_answer(spans: Sequence[ReadableSpan]) -> dict[str, Any]:
    """api_v3's answer: {"result": {"resourceSpans": [...]}}, one resource per service."""
    by_service: dict[str, list[ReadableSpan]] = {}
    for span in spans:
        by_service.setdefault(str(span.resource.attributes["service.name"]), []).append(span)
    return {"result": {"resourceSpans": [
        {"resource": {"attributes": _attributes({"service.name": service})},
         "scopeSpans": [{"scope": {"name": "test"}, "spans": [{
             "traceId": format(s.context.trace_id, "032x"), "spanId": format(s.context.span_id, "016x"),
             **({"parentSpanId": format(s.parent.span_id, "016x")} if s.parent else {}),
             "name": s.name, "kind": s.kind.value + 1,
             "startTimeUnixNano": str(s.start_time), "endTimeUnixNano": str(s.end_time),
             "attributes": _attributes(s.attributes), "status": {}} for s in group]}]}
        for service, group in by_service.items()]}}


def legacy_answer(spans: Sequence[ReadableSpan]) -> dict[str, Any]:
    """`/api/traces/{id}`'s answer: Jaeger's own JSON with tags, references and processes."""
    services = sorted({str(s.resource.attributes["service.name"]) for s in spans})
    process_of = {name: f"p{i + 1}" for i, name in enumerate(services)}
    return {"data": [{"traceID": format(spans[0].context.trace_id, "032x"), "spans": [{
        "traceID": format(s.context.trace_id, "032x"), "spanID": format(s.context.span_id, "016x"),
        "operationName": s.name, "startTime": s.start_time // 1000, "duration": (s.end_time - s.start_time) // 1000,
        "references": [{"refType": "CHILD_OF", "traceID": format(s.context.trace_id, "032x"),
                        "spanID": format(s.parent.span_id, "016x")}] if s.parent else [],
        "tags": [{"key": k, "type": "string", "value": v} for k, v in (s.attributes or {}).items()]
                + [{"key": "span.kind", "type": "string", "value": s.kind.name.lower()}],
        "processID": process_of[str(s.resource.attributes["service.name"])]} for s in spans],
        "processes": {pid: {"serviceName": name, "tags": []} for name, pid in process_of.items()}}]}


@contextmanager
def jaeger_query(spans: Sequence[ReadableSpan], *, legacy: bool = False) -> Iterator[str]:
    """Serve the spans' traces on a free port; yields the base URL (what COMPLAINTS_TRACE_QUERY_URL names)."""
    traces: dict[str, list[ReadableSpan]] = {}
    for span in spans:
        traces.setdefault(format(span.context.trace_id, "032x"), []).append(span)

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - the stdlib's name
            prefix = "/api/traces/" if legacy else "/api/v3/traces/"
            found = traces.get(self.path.removeprefix(prefix)) if self.path.startswith(prefix) else None
            if found is None:
                self.send_response(404)
                self.end_headers()
                return
            body = json.dumps(legacy_answer(found) if legacy else otlp_answer(found)).encode()
            self.send_response(200)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
