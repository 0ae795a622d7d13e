"""Telemetry: a tracer provider per service, exporting by OTLP or into the telemetry database."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from opentelemetry import trace
from opentelemetry.instrumentation.utils import suppress_instrumentation
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult
from pymongo import MongoClient
from pymongo.collection import Collection

from shared.masking import scrub

if TYPE_CHECKING:
    from shared.settings import ServiceSettings

SPANS_COLLECTION = "spans"
#: The TTL index that removes stored spans `span_retention_h` after they were stored.
SPANS_TTL_INDEX = "stored_at_ttl"


def ensure_span_indexes(collection: Collection, *, retention_h: float) -> None:
    """The span store's indexes: by trace, and a TTL on `stored_at` (idempotent)."""
    from shared.ledger import ensure_ttl_index

    collection.create_index("trace_id")
    ensure_ttl_index(collection, field="stored_at", name=SPANS_TTL_INDEX, seconds=int(retention_h * 3600))


def ensure_span_store(settings: ServiceSettings) -> None:
    """Create the span store's indexes at startup; a span store that does not answer is logged, not
    fatal (the exporter tries again at its first export: losing spans never stops a service)."""
    with suppress_instrumentation():
        client: MongoClient = MongoClient(settings.span_store_uri, tz_aware=True,
                                          serverSelectionTimeoutMS=settings.mongodb_timeout_ms)
        try:
            ensure_span_indexes(client[settings.telemetry_db][SPANS_COLLECTION],
                                retention_h=settings.span_retention_h)
        except Exception as exc:
            logging.getLogger(__name__).warning("span store indexes not made yet: %s", exc)
        finally:
            client.close()


def _plain(value: Any) -> Any:
    if isinstance(value, str):
        return scrub(value)
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


#: Attributes whose values come from configuration or the instrumentation (topic, database and
#: collection names, the peer's address), never from what people typed: stored as they are, where
#: scrubbing every value cost notify about a twentieth of its CPU. Everything else is scrubbed.
_SYSTEM_ATTRIBUTES = frozenset({
    "messaging.system", "messaging.operation", "messaging.destination.name",
    "messaging.destination_publish.name", "db.system", "db.name", "db.mongodb.collection", "net.peer.name",
})


def span_document(span: ReadableSpan) -> dict[str, Any]:
    """A finished span as a stored document (secrets in attribute values masked)."""
    ctx = span.get_span_context()
    assert ctx is not None and span.start_time is not None and span.end_time is not None  # a finished span
    parent = span.parent
    return {
        "trace_id": format(ctx.trace_id, "032x"),
        "span_id": format(ctx.span_id, "016x"),
        "parent_span_id": format(parent.span_id, "016x") if parent else None,
        "name": span.name,
        "kind": span.kind.name,
        "service": span.resource.attributes.get("service.name"),
        "start": datetime.fromtimestamp(span.start_time / 1e9, UTC),
        "end": datetime.fromtimestamp(span.end_time / 1e9, UTC),
        "status": span.status.status_code.name,
        "attributes": span_attributes(span.attributes or {}),
    }


def span_attributes(attributes: Mapping[str, Any]) -> dict[str, Any]:
    """A span's attributes as stored and shown: dots made underscores, values people typed masked."""
    return {k.replace(".", "_"): v if k in _SYSTEM_ATTRIBUTES else _plain(v) for k, v in attributes.items()}


class MongoSpanExporter(SpanExporter):
    """Stores spans in a collection so a complaint's trace is readable with no collector.

    One document per trace per export batch, its spans in a list: a document per span cost the
    embedded store five times as much per span (its work is per document and per index entry).
    """

    def __init__(self, *, uri: str, db: str, timeout_ms: int, retention_h: float = 168.0) -> None:
        self._client: MongoClient = MongoClient(uri, tz_aware=True, serverSelectionTimeoutMS=timeout_ms)
        self._collection = self._client[db][SPANS_COLLECTION]
        self._retention_h = retention_h
        self._indexed = False

    def ensure_indexes(self) -> None:
        """Create the span store's indexes (at startup; again at the first export if that failed)."""
        with suppress_instrumentation():
            ensure_span_indexes(self._collection, retention_h=self._retention_h)
        self._indexed = True

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        # The exporter's own writes must not be traced, or every export would make new spans.
        with suppress_instrumentation():
            try:
                if not self._indexed:
                    self.ensure_indexes()
                by_trace: dict[str, list[dict[str, Any]]] = {}
                for span in spans:
                    doc = span_document(span)
                    by_trace.setdefault(doc["trace_id"], []).append(doc)
                stored_at = datetime.now(UTC)
                self._collection.insert_many([{"trace_id": trace_id, "spans": docs, "stored_at": stored_at}
                                              for trace_id, docs in by_trace.items()], ordered=False)
            except Exception as exc:  # losing spans must never break the service
                logging.getLogger(__name__).warning("span export failed: %s", exc)
                return SpanExportResult.FAILURE
        return SpanExportResult.SUCCESS

    def shutdown(self) -> None:
        self._client.close()


def create_tracer_provider(
    *, service_name: str, otlp_endpoint: str | None, mongodb_uri: str, telemetry_db: str,
    timeout_ms: int, export_delay_ms: int, span_retention_h: float = 168.0,
) -> TracerProvider:
    """A tracer provider for one service; OTLP when an endpoint is set, else the span store."""
    provider = TracerProvider(resource=Resource.create({"service.name": service_name}))
    exporter: SpanExporter
    if otlp_endpoint:
        from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter

        exporter = OTLPSpanExporter(endpoint=otlp_endpoint)
    else:
        exporter = MongoSpanExporter(uri=mongodb_uri, db=telemetry_db, timeout_ms=timeout_ms,
                                     retention_h=span_retention_h)
    provider.add_span_processor(BatchSpanProcessor(exporter, schedule_delay_millis=export_delay_ms))
    return provider


def current_trace_id() -> str | None:
    """The hex trace id of the active span, if any."""
    ctx = trace.get_current_span().get_span_context()
    return format(ctx.trace_id, "032x") if ctx.is_valid else None


def stored_spans(collection: Collection, query: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    """The spans stored in the span store's collection (of the traces `query` picks), oldest first.

    (A document without a list is a span stored on its own, as they were before.)"""
    return sorted((span for doc in collection.find(query or {}, {"_id": 0})
                   for span in doc.get("spans", [doc])), key=lambda span: span["start"])


def read_trace(*, uri: str, db: str, trace_id: str, timeout_ms: int) -> list[dict[str, Any]]:
    """Every stored span of one trace, oldest first."""
    c: MongoClient[dict[str, Any]]
    with suppress_instrumentation(), MongoClient(uri, tz_aware=True, serverSelectionTimeoutMS=timeout_ms) as c:
        return stored_spans(c[db][SPANS_COLLECTION], {"trace_id": trace_id})
