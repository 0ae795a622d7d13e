"""Log lines as JSON objects: the fields an operator filters on, joined to the active span, secrets masked."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider

from shared.logs import complaint_context, configure_logging

pytestmark = pytest.mark.unit


@pytest.fixture
def lines() -> Iterator[io.StringIO]:
    """The process's log output, JSON, captured; the root logger's handlers put back afterwards."""
    root = logging.getLogger()
    kept, level = root.handlers[:], root.level
    configure_logging(level="INFO", service_name="evidence", log_format="json")
    out = io.StringIO()
    root.handlers[0].setStream(out)  # type: ignore[attr-defined]
    try:
        yield out
    finally:
        root.handlers[:] = kept
        root.setLevel(level)


def records(out: io.StringIO, logger: str) -> list[dict]:
    """The captured lines of one logger: other threads of the process (a tracer an earlier test
    shut down, say) may log meanwhile."""
    return [one for one in map(json.loads, out.getvalue().splitlines()) if one.get("logger") == logger]


def test_a_line_carries_its_span_and_complaint_and_masks_secrets(lines: io.StringIO) -> None:
    tracer = TracerProvider(resource=Resource.create({"service.name": "evidence"})).get_tracer("test")
    with tracer.start_as_current_span("complaints.intake.events process") as span, \
            complaint_context(complaint_id="c-77", ticket="CP-20261123-000077"):
        logging.getLogger("services.evidence.handlers").warning(
            "card key %s rejected for buyer 13812345678", "ABCD-1234-EFGH-5678")
    [line] = records(lines, "services.evidence.handlers")
    context = span.get_span_context()
    assert line["trace_id"] == format(context.trace_id, "032x") and line["span_id"] == format(context.span_id, "016x")
    assert line["complaint_id"] == "c-77" and line["ticket"] == "CP-20261123-000077"
    assert line["service"] == "evidence" and line["level"] == "WARNING"
    assert line["logger"] == "services.evidence.handlers" and line["timestamp"].endswith("Z")
    assert "ABCD-1234" not in line["message"] and "13812345678" not in line["message"]
    assert line["message"] == "card key ****5678 rejected for buyer 138****5678"


def test_outside_a_span_and_a_complaint_the_ids_are_left_out(lines: io.StringIO) -> None:
    logging.getLogger("shared.app").info("intake ready")
    [line] = records(lines, "shared.app")
    assert {"trace_id", "span_id", "complaint_id", "ticket"}.isdisjoint(line)
    assert line["message"] == "intake ready"


def test_extra_fields_and_tracebacks_are_masked_too(lines: io.StringIO) -> None:
    try:
        raise ValueError("password=hunter2 for 13812345678")
    except ValueError:
        logging.getLogger("x").exception("failed", extra={"contact": "call 13812345678"})
    [line] = records(lines, "x")
    assert "hunter2" not in line["exc_info"] and "13812345678" not in line["exc_info"]
    assert line["contact"] == "call 138****5678"


def test_text_format_for_local_runs(lines: io.StringIO) -> None:
    configure_logging(level="INFO", service_name="evidence", log_format="text")
    out = io.StringIO()
    logging.getLogger().handlers[0].setStream(out)  # type: ignore[attr-defined]
    with complaint_context(ticket="CP-20261123-000077"):
        logging.getLogger("x").info("phone 13812345678")
    assert out.getvalue().rstrip().endswith("evidence INFO x: phone 138****5678 [ticket=CP-20261123-000077]")


def test_the_broker_s_log_lines_are_json_and_masked_too(lines: io.StringIO) -> None:
    import faststream  # noqa: F401 - its import gives the logger a handler of its own

    # The logger shared.bus.create_broker hands FastStream's broker.
    logging.getLogger("faststream").info("subscriber for phone 13812345678 started")
    [line] = records(lines, "faststream")
    assert line["logger"] == "faststream" and line["message"] == "subscriber for phone 138****5678 started"
