"""Partners read status changes as CloudEvents that match the published schema and carry no PII."""

import json
import re
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from cloudevents.core.bindings.kafka import from_kafka_event
from pydantic import ValidationError

from services.notify.domain.status_event import (
    EVENT_TYPE,
    SCHEMA_ID,
    StatusChange,
    build_status_event,
    load_schema,
    public_reason_code,
    status_data,
    to_kafka_message,
)

pytestmark = pytest.mark.unit

CHANGE = StatusChange(source_event_id="evt-9", complaint_id="c-7f3a9e", ticket="CP-20261123-000001",
                      from_state="under_review", to_state="resolution_proposed", tier="internal",
                      occurred_at=datetime(2026, 11, 23, 16, tzinfo=timezone(timedelta(hours=8))),
                      reason_code="evidence_complete")


def schema_errors(value: Any, schema: dict[str, Any], path: str = "$") -> list[str]:
    """The subset of JSON Schema the published file uses (jsonschema is not installed here)."""
    errors: list[str] = []
    kinds = schema.get("type", [])
    kinds = [kinds] if isinstance(kinds, str) else kinds
    names = {"object": dict, "string": str, "null": type(None), "integer": int}
    if kinds and not any(isinstance(value, names[k]) for k in kinds):
        return [f"{path}: {value!r} is not {kinds}"]
    if "enum" in schema and value not in schema["enum"]:
        errors.append(f"{path}: {value!r} not in enum")
    if isinstance(value, str) and "pattern" in schema and not re.search(schema["pattern"], value):
        errors.append(f"{path}: {value!r} does not match {schema['pattern']}")
    if isinstance(value, str) and schema.get("format") == "date-time":
        try:
            datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            errors.append(f"{path}: {value!r} is not a date-time")
    if isinstance(value, dict):
        errors += [f"{path}: missing {key}" for key in schema.get("required", []) if key not in value]
        properties = schema.get("properties", {})
        if schema.get("additionalProperties") is False:
            errors += [f"{path}: unexpected {key}" for key in value if key not in properties]
        for key, sub in properties.items():
            if key in value:
                errors += schema_errors(value[key], sub, f"{path}.{key}")
    return errors


def test_kafka_message_is_a_valid_structured_cloudevent_keyed_by_complaint() -> None:
    message = to_kafka_message(event=build_status_event(change=CHANGE))
    assert message.key == b"c-7f3a9e"
    assert message.headers == {"content-type": b"application/cloudevents+json"}
    envelope = json.loads(message.value)
    assert envelope["specversion"] == "1.0" and envelope["type"] == EVENT_TYPE
    assert envelope["dataschema"] == SCHEMA_ID and envelope["subject"] == "c-7f3a9e"
    assert envelope["time"] == "2026-11-23T08:00:00Z"
    event = from_kafka_event(message)
    assert event.get_data() == envelope["data"]


def test_data_validates_against_the_published_schema() -> None:
    schema = load_schema()
    data = json.loads(to_kafka_message(event=build_status_event(change=CHANGE)).value)["data"]
    assert schema["$id"] == SCHEMA_ID
    assert schema_errors(data, schema) == []
    assert data["occurred_at"] == "2026-11-23T08:00:00.000Z"


def test_schema_refuses_pii_and_free_text() -> None:
    schema = load_schema()
    data = status_data(change=CHANGE)
    assert schema_errors(data | {"phone": "13812345678"}, schema) == ["$: unexpected phone"]
    assert schema_errors(data | {"reason_code": "buyer said 13812345678"}, schema)
    assert schema_errors({k: v for k, v in data.items() if k != "ticket"}, schema) == ["$: missing ticket"]


def test_model_and_schema_describe_the_same_fields() -> None:
    # Issue 23: webhooks add an optional bilingual `summary`; every other property is always present.
    schema = load_schema()
    assert set(status_data(change=CHANGE)) == set(schema["properties"]) - {"summary"} == set(schema["required"])


def test_first_state_is_null_and_still_valid() -> None:
    first = CHANGE.model_copy(update={"from_state": None, "tier": None, "reason_code": None})
    assert schema_errors(status_data(change=first), load_schema()) == []


def test_free_text_cannot_enter_the_public_event() -> None:
    with pytest.raises(ValidationError, match="reason_code"):
        StatusChange(**(CHANGE.model_dump() | {"reason_code": "card key X7K9P2M4 did not work"}))
    with pytest.raises(ValidationError, match="buyer_email"):
        StatusChange(**(CHANGE.model_dump() | {"buyer_email": "a@example.com"}))


def test_free_text_reason_from_the_internal_event_is_dropped() -> None:
    assert public_reason_code(reason="evidence_complete") == "evidence_complete"
    assert public_reason_code(reason="buyer 13812345678 called twice") is None
    assert public_reason_code(reason="") is None


def test_republishing_the_same_change_gives_the_same_event_id() -> None:
    again = build_status_event(change=CHANGE)
    assert build_status_event(change=CHANGE).get_id() == again.get_id()
    other = CHANGE.model_copy(update={"source_event_id": "evt-10"})
    assert build_status_event(change=other).get_id() != again.get_id()
    assert again.get_time() == datetime(2026, 11, 23, 8, tzinfo=UTC)
