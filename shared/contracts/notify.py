"""Notify's contracts: what was told to whom, by which channel."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from shared.envelope import Event


class NotificationSent(Event):
    """A notification reached (or was recorded for) one recipient on one channel."""

    type: Literal["NotificationSent"] = "NotificationSent"
    about_event_id: str = Field(title="The event this notification tells about")
    about_event_type: str = Field(title="Its type")
    recipient_role: Literal["complainant", "merchant", "agent", "partner"] = Field(title="Who")
    channel: Literal["email", "sms", "in_app", "webhook"] = Field(title="How")


class ComplaintStatusData(BaseModel):
    """Data of the partner-facing status CloudEvent (JSON Schema complaint-status-changed v1): codes only."""

    model_config = ConfigDict(frozen=True, extra="forbid", title="ComplaintStatusChangedData")

    complaint_id: str = Field(title="Opaque complaint id; also the Kafka key and the CloudEvents subject",
                              pattern=r"^[A-Za-z0-9_-]{1,64}$")
    ticket: str = Field(title="Ticket number the complainant quotes", pattern=r"^[A-Za-z0-9-]{1,40}$")
    from_state: str | None = Field(title="State before; null for the first record (the filing)")
    to_state: str = Field(title="State after, e.g. under_review, resolved, rejected, closed")
    tier: Literal["automatic", "internal", "platform", "payment_channel", "external", "legal"] | None = Field(
        title="Escalation tier after the change")
    occurred_at: str = Field(title="When it changed, RFC 3339 UTC with milliseconds")
    reason_code: str | None = Field(title="Machine-readable reason, e.g. evidence_complete; null when none")


class ComplaintStatusCloudEvent(BaseModel):
    """One complaint status change on the public status topic: CloudEvents 1.0, Kafka structured mode.

    The record value is this JSON object (content-type application/cloudevents+json); the record key is
    the complaint id, so one complaint's changes stay in order. Ids are stable per source change: a
    repeated id is a republish and can be dropped.
    """

    model_config = ConfigDict(frozen=True, extra="forbid", title="ComplaintStatusChangedCloudEvent")

    specversion: Literal["1.0"] = Field(title="CloudEvents version")
    id: str = Field(title="Event id (UUID, stable per status change)")
    source: str = Field(title="urn:complaints-suite:notify")
    type: Literal["org.complaints-suite.complaint.status_changed.v1",
                  "org.complaints-suite.freeze.requested.v1"] = Field(title="Event type, versioned")
    subject: str = Field(title="The complaint id")
    time: str = Field(title="When the change happened (RFC 3339)")
    datacontenttype: Literal["application/json"] = Field(title="Content type of data")
    dataschema: str = Field(title="URL of the JSON Schema of data: {COMPLAINTS_PUBLIC_BASE_URL}/schemas/{type}.json")
    partitionkey: str = Field(title="Partitioning extension: the complaint id")
    data: ComplaintStatusData = Field(title="The change")
