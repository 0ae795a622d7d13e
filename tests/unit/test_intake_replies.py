"""Intake's answers to FileComplaint on the replies topic: CloudEvents 1.0 (structured mode) whose data
is what the public JSON Schema of filing.accepted.v1 / filing.rejected.v1 asks for."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from cloudevents.v1.http import from_json
from jsonschema import Draft202012Validator
from pydantic import ValidationError

from services.intake.domain.errors import validation_errors
from services.intake.domain.schemas import NewComplaint
from services.intake.service.commands import reply_event
from shared.contracts import public
from shared.contracts.complaints import ComplaintAccepted, ComplaintRejected
from tests.support.samples import sample_complaint

pytestmark = pytest.mark.unit

AT = datetime(2026, 12, 6, 9, 30, 15, 123456, tzinfo=UTC)


def _valid(event: dict[str, object]) -> None:
    Draft202012Validator(public.schema_of(str(event["type"])),
                         format_checker=Draft202012Validator.FORMAT_CHECKER).validate(event["data"])


def test_an_acceptance_is_a_filing_accepted_cloud_event_keyed_like_its_record() -> None:
    accepted = ComplaintAccepted(platform="kameng-example", platform_reference="ORDER-1", ticket="TS-20261206-000042",
                                 already_existed=True, occurred_at=AT)
    event = json.loads(reply_event(accepted, complaint_id="c-42"))
    _valid(event)
    assert event["type"] == "org.complaints-suite.filing.accepted.v1"
    assert event["subject"] == event["partitionkey"] == accepted.key() == "kameng-example:ORDER-1"
    assert event["time"] == event["data"]["occurred_at"] == "2026-12-06T09:30:15.123Z"
    assert event["dataschema"] == public.schema_url(event["type"])
    assert event["data"] == {"occurred_at": "2026-12-06T09:30:15.123Z", "platform": "kameng-example",
                             "platform_reference": "ORDER-1", "ticket": "TS-20261206-000042",
                             "already_existed": True, "complaint_id": "c-42"}
    # A partner's SDK reads it as it is on the topic.
    parsed = from_json(reply_event(accepted, complaint_id=None))
    assert parsed["type"] == public.FILING_ACCEPTED and parsed.get_data()["complaint_id"] is None
    assert parsed["id"] == event["id"]  # one reply, one id: a republished record can be dropped


def test_a_refusal_carries_each_field_and_rule_with_the_message_in_both_languages() -> None:
    body = sample_complaint("intake/complaint_zh.json", **{"order.amount": -1, "order.currency": "RMB"})
    with pytest.raises(ValidationError) as refused:
        NewComplaint.model_validate(body)
    rejected = ComplaintRejected(platform="kameng-example", platform_reference="ORDER-2",
                                 errors=validation_errors(exc=refused.value), occurred_at=AT)
    event = json.loads(reply_event(rejected, complaint_id=None))
    _valid(event)
    assert event["type"] == "org.complaints-suite.filing.rejected.v1"
    assert {(e["field"], e["rule"]) for e in event["data"]["errors"]} == {("order.amount", "gt"),
                                                                          ("order.currency", "iso4217")}
    assert all(e["message"] == e["message_en"] and e["message_zh"] for e in event["data"]["errors"])
    assert "complaint_id" not in event["data"] and "ticket" not in event["data"]


def test_every_reply_type_has_its_public_type_and_a_different_id_per_answer() -> None:
    first = ComplaintAccepted(platform="p", platform_reference="r", ticket="T-1", occurred_at=AT)
    again = first.model_copy(update={"event_id": "another-answer"})
    assert set(public.REPLY_TYPES) == {first.type, "ComplaintRejected"}
    ids = {json.loads(reply_event(reply, complaint_id=None))["id"] for reply in (first, again)}
    assert len(ids) == 2
