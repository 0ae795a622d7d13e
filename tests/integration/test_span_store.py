"""The span store on the real store: a trace is read back whole and in order, however its spans
were exported, and an export batch costs one document per trace."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from pymongo import MongoClient

from shared.telemetry import SPANS_COLLECTION, create_tracer_provider, read_trace
from tests.support.servers import Servers

pytestmark = pytest.mark.integration


def test_a_trace_is_read_back_whole_in_order_from_one_document_per_trace_and_batch(
        servers: Servers, namespace: str) -> None:
    db = f"{namespace}_span_store"
    provider = create_tracer_provider(service_name="intake", otlp_endpoint=None, mongodb_uri=servers.mongodb_uri,
                                      telemetry_db=db, timeout_ms=3000, export_delay_ms=60_000)
    tracer = provider.get_tracer("test")
    traces = []
    for batch in range(2):
        for n in range(3):
            with tracer.start_as_current_span(f"POST /v1/complaints {batch}-{n}") as root:
                with tracer.start_as_current_span("intake.insert", attributes={"db.system": "mongodb"}):
                    pass
                traces.append((format(root.get_span_context().trace_id, "032x"), root.name))
        provider.force_flush()
    try:
        for trace_id, root_name in traces:
            spans = read_trace(uri=servers.mongodb_uri, db=db, trace_id=trace_id, timeout_ms=3000)
            by_name = {s["name"]: s for s in spans}
            assert sorted(by_name) == sorted([root_name, "intake.insert"])
            root, child = by_name[root_name], by_name["intake.insert"]
            assert child["parent_span_id"] == root["span_id"] and root["parent_span_id"] is None
            assert child["attributes"] == {"db_system": "mongodb"} and root["service"] == "intake"
            assert spans[0]["start"] <= spans[1]["start"]  # oldest first (the store keeps milliseconds)
        with MongoClient(servers.mongodb_uri) as client:
            assert client[db][SPANS_COLLECTION].count_documents({}) == len(traces)
    finally:
        provider.shutdown()
        MongoClient(servers.mongodb_uri).drop_database(db)


def test_spans_stored_one_per_document_are_still_read(servers: Servers, namespace: str) -> None:
    db = f"{namespace}_span_store_old"
    with MongoClient(servers.mongodb_uri) as client:
        client[db][SPANS_COLLECTION].insert_many([
            {"trace_id": "t1", "span_id": "b", "name": "second", "start": datetime(2026, 11, 23, 1, tzinfo=UTC)},
            {"trace_id": "t1", "span_id": "a", "name": "first", "start": datetime(2026, 11, 23, 0, tzinfo=UTC)}])
        try:
            spans = read_trace(uri=servers.mongodb_uri, db=db, trace_id="t1", timeout_ms=3000)
            assert [s["name"] for s in spans] == ["first", "second"]
        finally:
            client.drop_database(db)
