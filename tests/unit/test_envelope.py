"""The wire envelope: what a consumer accepts, and why it refuses the rest."""

from __future__ import annotations

import json

import pytest

import shared.contracts  # noqa: F401 - registers every message type
from shared.contracts.complaints import ComplaintWithdrawn
from shared.contracts.escalation import ComplaintStatusChanged
from shared.envelope import PoisonMessage, decode, message_types, to_cloudevent_dict

pytestmark = pytest.mark.unit


def test_an_event_round_trips_with_its_ids_and_utc_time() -> None:
    event = ComplaintWithdrawn(complaint_id="c1", ticket="CP-20261123-000001", reason="已自行解决 ✅")
    again = decode(event.encode())
    assert again == event
    assert again.occurred_at.utcoffset().total_seconds() == 0
    assert again.key() == "c1"


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b"\xff\xfe", "invalid JSON"),
        (b"[1, 2]", "not a JSON object"),
        (json.dumps({"type": "Nope"}).encode(), "unknown message type"),
        (json.dumps({"type": "ComplaintWithdrawn", "schema_version": 7}).encode(), "unsupported schema_version"),
        (json.dumps({"type": "ComplaintWithdrawn", "ticket": "x"}).encode(), "complaint_id"),
    ],
)
def test_poison_is_named_with_its_reason(raw: bytes, reason: str) -> None:
    with pytest.raises(PoisonMessage, match=reason):
        decode(raw)


def test_an_oversized_payload_is_refused_before_parsing() -> None:
    with pytest.raises(PoisonMessage, match="payload too large"):
        decode(b"{" + b" " * 2000 + b"}", max_bytes=1024)


def test_events_are_frozen_and_refuse_unknown_fields_when_built() -> None:
    event = ComplaintWithdrawn(complaint_id="c1", ticket="T")
    with pytest.raises(Exception, match="frozen"):
        event.reason = "x"  # type: ignore[misc]
    with pytest.raises(ValueError, match="Extra inputs"):
        ComplaintWithdrawn(complaint_id="c1", ticket="T", secret=1)  # type: ignore[call-arg]
    # Issue 24: a reader tolerates a field added within the major version (see test_contract_evolution).
    assert decode(json.dumps({**json.loads(event.encode()), "secret": 1}).encode()) == event


def test_the_cloudevents_form_carries_the_core_attributes() -> None:
    event = ComplaintStatusChanged(complaint_id="c1", ticket="CP-1", from_state="filed",
                                   to_state="acknowledged", tier="internal")
    ce = to_cloudevent_dict(event, source="/complaints/escalation", data={"to": "acknowledged"})
    assert ce["specversion"] == "1.0"
    assert ce["id"] == event.event_id
    assert ce["type"] == "complaints.ComplaintStatusChanged.v1"
    assert ce["subject"] == "CP-1"


def test_every_family_registers_its_types() -> None:
    names = set(message_types())
    assert {"ComplaintFiled", "FileComplaint", "EvidenceSubmitted", "SlaBreached", "NotificationSent"} <= names
