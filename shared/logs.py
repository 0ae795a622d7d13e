"""Log lines: one JSON object per line joined to traces (trace and span ids, complaint and ticket), masked."""

from __future__ import annotations

import contextvars
import logging
import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from opentelemetry.instrumentation.logging import LoggingInstrumentor
from opentelemetry.trace import TracerProvider
from pythonjsonlogger.json import JsonFormatter

from shared.masking import SYSTEM_IDS, ScrubbingFilter, scrub

#: The complaint the code now runs for: set by the consumer per record and by the API per request.
COMPLAINT_ID: contextvars.ContextVar[str | None] = contextvars.ContextVar("log_complaint_id", default=None)
TICKET: contextvars.ContextVar[str | None] = contextvars.ContextVar("log_ticket", default=None)

#: The fields of a JSON line, in order (python-json-logger's names on the left, ours on the right).
_RENAMED = {"asctime": "timestamp", "levelname": "level", "name": "logger", "otelTraceID": "trace_id",
            "otelSpanID": "span_id"}
_FORMAT = ["asctime", "levelname", "name", "message", "otelTraceID", "otelSpanID"]
#: Record attributes left out of a JSON line (the logging instrumentation's other additions).
_LEFT_OUT = ("otelTraceSampled", "otelServiceName", "color_message")
#: Fields whose values the formatter writes itself (the message is masked by ScrubbingFilter).
_OWN = frozenset({"timestamp", "level", "logger", "message", "service", *SYSTEM_IDS})


@contextmanager
def complaint_context(*, complaint_id: str | None = None, ticket: str | None = None) -> Iterator[None]:
    """Log lines written inside carry this complaint id and ticket (each where given)."""
    tokens = [(var, var.set(value)) for var, value in ((COMPLAINT_ID, complaint_id), (TICKET, ticket))
              if value is not None]
    try:
        yield
    finally:
        for var, token in reversed(tokens):
            var.reset(token)


def record_context(event: Any) -> Any:
    """The complaint of a consumed message (its id and ticket, where it has them), for the log lines of its handling."""
    return complaint_context(complaint_id=getattr(event, "complaint_id", None), ticket=getattr(event, "ticket", None))


class ContextFilter(logging.Filter):
    """Adds the complaint id and ticket of the context, and leaves trace ids out where there is no span."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.complaint_id = COMPLAINT_ID.get()
        record.ticket = TICKET.get()
        for name in ("otelTraceID", "otelSpanID"):
            if getattr(record, name, "0") == "0":  # the instrumentation's value outside any span
                setattr(record, name, None)
        return True


class _JsonLines(JsonFormatter):
    """python-json-logger's formatter with UTC timestamps, absent ids left out rather than null."""

    def process_log_record(self, log_record: dict[str, Any]) -> dict[str, Any]:
        for key in ("trace_id", "span_id", "complaint_id", "ticket"):
            if log_record.get(key) is None:
                log_record.pop(key, None)
        for key in _LEFT_OUT:
            log_record.pop(key, None)
        for key, value in log_record.items():
            if key not in _OWN and isinstance(value, str):
                log_record[key] = scrub(value)  # `extra` fields and tracebacks, which may quote input
        return log_record


def json_formatter(*, service_name: str) -> logging.Formatter:
    """A formatter writing each record as one JSON object: timestamp, level, logger, message, service,
    trace_id, span_id, complaint_id and ticket where known (and any `extra` fields)."""
    formatter = _JsonLines(_FORMAT, rename_fields=_RENAMED, static_fields={"service": service_name},
                           json_ensure_ascii=False)
    formatter.default_time_format = "%Y-%m-%dT%H:%M:%S"
    formatter.default_msec_format = "%s.%03dZ"
    formatter.converter = _utc
    return formatter


def _utc(seconds: float | None) -> Any:
    import time

    return time.gmtime(seconds)


def text_formatter(*, service_name: str) -> logging.Formatter:
    """The local form: one readable line, the trace id at the end where there is one."""
    return _TextLines(f"%(asctime)s {service_name} %(levelname)s %(name)s: %(message)s")


class _TextLines(logging.Formatter):
    def formatException(self, ei: Any) -> str:  # noqa: N802 - logging's name
        return scrub(super().formatException(ei))

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        extra = " ".join(f"{k}={v}" for k, v in (("ticket", getattr(record, "ticket", None)),
                                                 ("trace", getattr(record, "otelTraceID", None))) if v)
        return f"{line} [{extra}]" if extra else line


def configure_logging(*, level: str, service_name: str, log_format: str = "json",
                      tracer_provider: TracerProvider | None = None) -> None:
    """Log to stderr as JSON lines (or text), secrets masked, each record joined to the active span."""
    instrumentor = LoggingInstrumentor()
    if not instrumentor.is_instrumented_by_opentelemetry:
        instrumentor.instrument(inject_trace_context=True, tracer_provider=tracer_provider)
    handler = logging.StreamHandler()
    handler.setFormatter(json_formatter(service_name=service_name) if log_format == "json"
                         else text_formatter(service_name=service_name))
    handler.addFilter(ScrubbingFilter())
    handler.addFilter(ContextFilter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # Driver debug logs print whole commands and documents, free text and all: never below INFO.
    for noisy in ("pymongo", "aiokafka", "httpcore", "httpx"):
        logging.getLogger(noisy).setLevel(max(logging.INFO, root.level))
    # FastStream gives its logger a coloured stdout handler of its own at import, and stops it
    # propagating: its lines (the broker's, given this logger) would skip the masking and the JSON.
    import faststream  # noqa: F401 - imported first, so that its handler exists to be removed

    broker_log = logging.getLogger("faststream")
    broker_log.handlers.clear()
    broker_log.propagate = True


_TICKET_PATH = re.compile(r"^/v1/(?:complaints|cases)/([A-Z]{1,6}-\d{8}-\d{6,})(?:/|$)")


class RequestLogContext:
    """ASGI middleware: log lines written while a request about one complaint runs carry its ticket."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        found = _TICKET_PATH.match(scope.get("path", "")) if scope.get("type") == "http" else None
        if found is None:
            await self.app(scope, receive, send)
            return
        with complaint_context(ticket=found.group(1)):
            await self.app(scope, receive, send)
