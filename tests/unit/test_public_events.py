"""The public event vocabulary (issue 23): versioned types, absolute schema URLs, filters keeping old names."""

import json
from datetime import UTC, datetime

import pytest
from jsonschema import Draft202012Validator

from shared.contracts import public

pytestmark = pytest.mark.unit


def test_every_type_is_named_noun_verb_v1_and_its_schema_is_valid_draft_2020_12() -> None:
    assert len(public.PUBLIC_TYPES) >= 11
    for event_type in public.PUBLIC_TYPES:
        assert event_type.startswith("org.complaints-suite.") and event_type.endswith(".v1")
        assert len(event_type.removeprefix("org.complaints-suite.").removesuffix(".v1").split(".")) == 2
        schema = public.schema_of(event_type)
        Draft202012Validator.check_schema(schema)
        assert schema["$id"] == public.schema_url(event_type)
        about_one = event_type not in public.REPLY_TYPES.values()  # a rejected filing has no complaint yet
        assert ({"complaint_id", "ticket", "occurred_at"} if about_one else {"occurred_at"}) <= set(schema["required"])
        assert schema["additionalProperties"] is False


def _names(schema: dict) -> set[str]:
    found = set(schema.get("properties", {}))
    for sub in [*schema.get("properties", {}).values(), *schema.get("anyOf", []),
                *([schema["items"]] if "items" in schema else [])]:
        found |= _names(sub) if isinstance(sub, dict) else set()
    return found


def test_no_schema_has_room_for_contacts_or_free_text() -> None:
    words = ("phone", "email", "name", "card", "description", "note", "agent", "address")
    for event_type in public.PUBLIC_TYPES:
        names = _names(public.schema_of(event_type))
        assert not [n for n in names if any(w in n for w in words) or n == "reason"], (event_type, names)
        assert json.dumps(public.schema_of(event_type))  # plain JSON, servable as is


def test_the_schema_url_is_absolute_and_follows_the_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(public.BASE_URL_SETTING, raising=False)
    assert public.schema_url(public.COMPLAINT_FILED) == \
        "http://localhost:8004/schemas/org.complaints-suite.complaint.filed.v1.json"
    monkeypatch.setenv(public.BASE_URL_SETTING, "https://complaints.example.com/")
    event = public.cloud_event(event_type=public.CASE_ASSIGNED, subject="c-1",
                               data={}, time=datetime(2026, 12, 6, tzinfo=UTC), key="evt-1")
    assert event["dataschema"] == "https://complaints.example.com/schemas/org.complaints-suite.case.assigned.v1.json"
    assert event["time"] == "2026-12-06T00:00:00.000Z" and event["specversion"] == "1.0"


def test_the_same_fact_keeps_its_id_and_different_types_do_not_share_one() -> None:
    a = public.event_id(public.COMPLAINT_FILED, "evt-1")
    assert a == public.event_id(public.COMPLAINT_FILED, "evt-1")
    assert a != public.event_id(public.STATUS_CHANGED, "evt-1")


def test_filters_accept_new_names_and_the_old_internal_ones() -> None:
    assert public.filter_names(public.COMPLAINT_FILED) == {public.COMPLAINT_FILED, "ComplaintFiled"}
    # A closing is a status change: an endpoint that asked for status changes hears of it.
    assert {"ComplaintStatusChanged", public.STATUS_CHANGED} <= public.filter_names(public.COMPLAINT_CLOSED)
    assert public.public_type("ComplaintStatusChanged", to_state="closed") == public.COMPLAINT_CLOSED
    assert public.public_type("ComplaintStatusChanged", to_state="in_review") == public.STATUS_CHANGED
    assert set(public.INTERNAL_ALIASES) <= set(public.FILTER_NAMES)


def test_cloud_event_headers_are_recognised_for_the_relay() -> None:
    assert public.is_cloud_event_headers(public.KAFKA_HEADERS)
    assert public.is_cloud_event_headers({"ce_specversion": "1.0"})
    assert not public.is_cloud_event_headers({"content-type": "application/json"})
    assert not public.is_cloud_event_headers(None)


def test_replies_have_their_own_types_for_the_replies_topic() -> None:
    rejected = public.cloud_event(event_type=public.REPLY_TYPES["ComplaintRejected"], subject="kamen-1:ORDER-1",
                                  time=datetime(2026, 12, 6, tzinfo=UTC), key="evt-2",
                                  data={"occurred_at": "2026-12-06T00:00:00.000Z", "platform": "kamen-1",
                                        "platform_reference": "ORDER-1",
                                        "errors": [{"field": "order.amount", "rule": "gt", "message": "must be > 0",
                                                    "message_zh": "必须大于 0"}]})
    Draft202012Validator(public.schema_of(rejected["type"])).validate(rejected["data"])
    assert rejected["partitionkey"] == "kamen-1:ORDER-1"
    assert not set(public.REPLY_TYPES.values()) & set(public.FILTER_NAMES)  # never a webhook filter
    assert not set(public.REPLY_TYPES.values()) & set(public.WEBHOOK_TYPES)
