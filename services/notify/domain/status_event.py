"""The partner-facing complaint status event: CloudEvents 1.0, Kafka structured mode, keyed by complaint.

Types, schemas and ids come from the public vocabulary (shared/contracts/public.py)."""

import re
from datetime import UTC
from typing import Any, Literal

from cloudevents.core.bindings.kafka import KafkaMessage, to_structured_event
from cloudevents.core.v1.event import CloudEvent
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator

from shared.contracts import public

EVENT_TYPE = public.STATUS_CHANGED
DEFAULT_SOURCE = public.DEFAULT_SOURCE
#: Where the data schema is served (with the default COMPLAINTS_PUBLIC_BASE_URL; see public.schema_url).
SCHEMA_ID = public.schema_url(EVENT_TYPE)
_CODE = r"^[a-z][a-z0-9_]{0,39}$"
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


def public_reason_code(*, reason: str | None, action: str | None = None) -> str | None:
    """The reason if it is a plain code (a_code_like_this); free text may carry PII, so then the
    action that caused the change (request_evidence …) when it is a code, else None."""
    for code in (reason, action):
        if code and re.fullmatch(_CODE, code):
            return code
    return None


def load_schema() -> dict[str, Any]:
    """The versioned JSON Schema of the event's data, as published to partners (and served)."""
    return public.schema_of(EVENT_TYPE)


def status_data(*, change: StatusChange) -> dict[str, Any]:
    """The data payload; every key is always present, absent values are null."""
    data = change.model_dump(exclude={"source_event_id"}, mode="json")
    data["occurred_at"] = public.rfc3339(change.occurred_at)
    return data


def status_cloud_event(*, change: StatusChange, source: str = DEFAULT_SOURCE) -> dict[str, Any]:
    """The public record of a change as CloudEvents JSON; its id is derived from the source event,
    so a republish is recognisable (the same id as before the public vocabulary)."""
    return public.cloud_event(event_type=EVENT_TYPE, subject=change.complaint_id, data=status_data(change=change),
                              time=change.occurred_at, key=change.source_event_id, source=source)


def build_status_event(*, change: StatusChange, source: str = DEFAULT_SOURCE) -> CloudEvent:
    """The same event as an SDK CloudEvent (the Kafka binding turns `partitionkey` into the key)."""
    return _sdk_event(status_cloud_event(change=change, source=source), time=change.occurred_at)


def _sdk_event(event: dict[str, Any], *, time: Any) -> CloudEvent:
    attributes = {k: v for k, v in event.items() if k not in ("data", "specversion")} | {"time": time}
    return CloudEvent(attributes=attributes, data=event["data"])


def to_kafka_message(*, event: CloudEvent) -> KafkaMessage:
    """Structured mode: value is the whole event as JSON, key is the complaint id as bytes."""
    # Structured mode so a consumer needs one json.loads and no header handling to see everything.
    return to_structured_event(event, key_mapper=lambda e: str(e.get_extension("partitionkey")).encode("utf-8"))


#: Its name was provisional before issue 23; it already fitted org.complaints-suite.<noun>.<verb>.v1, so it stays.
FREEZE_EVENT_TYPE = public.FREEZE_REQUESTED
FREEZE_SCHEMA_ID = public.schema_url(FREEZE_EVENT_TYPE)


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


def freeze_cloud_event(*, request: FreezeRequest, source: str = DEFAULT_SOURCE) -> dict[str, Any]:
    """The public freeze request; its id is derived from the complaint: one per complaint, however often asked."""
    data = request.model_dump(mode="json")
    data["occurred_at"] = public.rfc3339(request.occurred_at)
    return public.cloud_event(event_type=FREEZE_EVENT_TYPE, subject=request.complaint_id, data=data,
                              time=request.occurred_at, key=f"freeze:{request.complaint_id}", source=source)


def build_freeze_event(*, request: FreezeRequest, source: str = DEFAULT_SOURCE) -> CloudEvent:
    """The same freeze request as an SDK CloudEvent."""
    return _sdk_event(freeze_cloud_event(request=request, source=source), time=request.occurred_at)


def load_freeze_schema() -> dict[str, Any]:
    """The JSON Schema of the freeze request's data."""
    return public.schema_of(FREEZE_EVENT_TYPE)
