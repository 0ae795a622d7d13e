"""The partner-facing complaint status event: CloudEvents 1.0, Kafka structured mode, keyed by complaint."""

import json
import re
import uuid
from datetime import UTC
from pathlib import Path
from typing import Any, Literal

from cloudevents.core.bindings.kafka import KafkaMessage, to_structured_event
from cloudevents.core.v1.event import CloudEvent
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator

EVENT_TYPE = "org.complaints-suite.complaint.status_changed.v1"
DEFAULT_SOURCE = "urn:complaints-suite:notify"
SCHEMA_PATH = Path(__file__).parent / "schemas" / "complaint-status-changed.v1.json"
SCHEMA_ID = "urn:complaints-suite:schema:complaint-status-changed:v1"
_CODE = r"^[a-z][a-z0-9_]{0,39}$"
_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, SCHEMA_ID)
Tier = Literal["automatic", "internal", "platform", "payment_channel", "external", "legal"]


class StatusChange(BaseModel):
    """A complaint state change as partners may see it: codes only, so no free text can carry PII."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    source_event_id: str = Field(min_length=1)
    complaint_id: str = Field(pattern=r"^[A-Za-z0-9_-]{1,64}$")
    ticket: str = Field(pattern=r"^[A-Za-z0-9-]{1,40}$")
    from_state: str | None = Field(default=None, pattern=_CODE)
    to_state: str = Field(pattern=_CODE)
    tier: Tier | None = None
    occurred_at: AwareDatetime
    reason_code: str | None = Field(default=None, pattern=_CODE)

    @field_validator("occurred_at")
    @classmethod
    def _utc(cls, value: AwareDatetime) -> AwareDatetime:
        return value.astimezone(UTC)


def public_reason_code(*, reason: str | None) -> str | None:
    """The reason if it is a plain code (a_code_like_this); free text may carry PII, so None."""
    return reason if reason and re.fullmatch(_CODE, reason) else None


def load_schema() -> dict[str, Any]:
    """The versioned JSON Schema of the event's data, as published to partners."""
    return json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))


def status_data(*, change: StatusChange) -> dict[str, Any]:
    """The data payload; every key is always present, absent values are null."""
    data = change.model_dump(exclude={"source_event_id"}, mode="json")
    data["occurred_at"] = change.occurred_at.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
    return data


def build_status_event(*, change: StatusChange, source: str = DEFAULT_SOURCE) -> CloudEvent:
    """A CloudEvent whose id is derived from the source event, so a republish is recognisable."""
    return CloudEvent(
        attributes={
            "id": str(uuid.uuid5(_NAMESPACE, change.source_event_id)),
            "source": source,
            "type": EVENT_TYPE,
            "subject": change.complaint_id,
            "time": change.occurred_at,
            "datacontenttype": "application/json",
            "dataschema": SCHEMA_ID,
            # Partitioning extension: the Kafka binding turns it into the message key.
            "partitionkey": change.complaint_id,
        },
        data=status_data(change=change),
    )


def to_kafka_message(*, event: CloudEvent) -> KafkaMessage:
    """Structured mode: value is the whole event as JSON, key is the complaint id as bytes."""
    # Structured mode so a consumer needs one json.loads and no header handling to see everything.
    return to_structured_event(event, key_mapper=lambda e: str(e.get_extension("partitionkey")).encode("utf-8"))


#: Provisional: issue 23 names the public event types; partners may already read this one.
FREEZE_EVENT_TYPE = "org.complaints-suite.freeze.requested.v1"
FREEZE_SCHEMA_PATH = Path(__file__).parent / "schemas" / "freeze-requested.v1.json"
FREEZE_SCHEMA_ID = "urn:complaints-suite:schema:freeze-requested:v1"


class FreezeRequest(BaseModel):
    """A freeze request as partners may see it: what to freeze, for which order and channel; no personal data."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    complaint_id: str = Field(pattern=r"^[A-Za-z0-9_-]{1,64}$")
    ticket: str = Field(pattern=r"^[A-Za-z0-9-]{1,40}$")
    freeze: list[str] = Field(min_length=1)
    order_number: str | None = Field(default=None, max_length=64)
    payment_channel: str | None = Field(default=None, pattern=_CODE)
    transaction_id: str | None = Field(default=None, max_length=128)
    reason_code: str | None = Field(default=None, pattern=_CODE)
    occurred_at: AwareDatetime

    @field_validator("freeze")
    @classmethod
    def _codes(cls, value: list[str]) -> list[str]:
        bad = [v for v in value if not re.fullmatch(_CODE, v)]
        if bad:
            raise ValueError(f"freeze targets must be codes like payment_instrument, got {bad}")
        return value

    @field_validator("occurred_at")
    @classmethod
    def _utc(cls, value: AwareDatetime) -> AwareDatetime:
        return value.astimezone(UTC)


def build_freeze_event(*, request: FreezeRequest, source: str = DEFAULT_SOURCE) -> CloudEvent:
    """A CloudEvent whose id is derived from the complaint: one freeze request per complaint, however often asked."""
    data = request.model_dump(mode="json")
    data["occurred_at"] = request.occurred_at.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
    return CloudEvent(
        attributes={
            "id": str(uuid.uuid5(_NAMESPACE, f"freeze:{request.complaint_id}")),
            "source": source, "type": FREEZE_EVENT_TYPE, "subject": request.complaint_id,
            "time": request.occurred_at, "datacontenttype": "application/json",
            "dataschema": FREEZE_SCHEMA_ID, "partitionkey": request.complaint_id,
        },
        data=data,
    )


def load_freeze_schema() -> dict[str, Any]:
    """The JSON Schema of the freeze request's data."""
    return json.loads(FREEZE_SCHEMA_PATH.read_text(encoding="utf-8"))
