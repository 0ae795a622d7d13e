"""Topic names: settings with namespaced defaults, and the list the suite creates."""

from __future__ import annotations

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class TopicSettings(BaseSettings):
    """Every Kafka topic the suite uses; override any name with COMPLAINTS_TOPIC_<FIELD>."""

    model_config = SettingsConfigDict(env_prefix="COMPLAINTS_TOPIC_", extra="ignore")

    intake_commands: str = Field("complaints.intake.commands", title="FileComplaint commands from platforms")
    intake_replies: str = Field("complaints.intake.replies", title="Answers to FileComplaint commands")
    intake_events: str = Field("complaints.intake.events", title="Events of the intake service")
    evidence_events: str = Field("complaints.evidence.events", title="Events of the evidence service")
    payment_records: str = Field("complaints.evidence.payment-records", title="Payment records published by channels")
    escalation_events: str = Field("complaints.escalation.events", title="Events of the escalation service")
    notify_events: str = Field("complaints.notify.events", title="Events of the notify service")
    public_status: str = Field("complaints.public.status",
                               title="Partner-facing complaint status changes (CloudEvents)")
    dead_letter_suffix: str = Field(".dlq", title="Suffix of each consumed topic's dead-letter topic")
    partitions: int = Field(4, title="Partitions of each topic the suite creates", ge=1)
    dlq_retention_ms: int = Field(30 * 24 * 3600 * 1000, ge=1, title="retention.ms of the dead-letter topics "
                                  "(30 days: time to look at, fix and replay what was parked)")
    replies_retention_ms: int = Field(7 * 24 * 3600 * 1000, ge=1, title="retention.ms of the reply topics (7 days: "
                                      "a reply is read within seconds; a week covers a platform's outage)")
    prefix: str = Field("", title="Prepended to every topic name (isolates tenants or test runs)")

    @model_validator(mode="after")
    def _apply_prefix(self) -> TopicSettings:
        if self.prefix:
            for name in _NAME_FIELDS:
                value = getattr(self, name)
                if not value.startswith(self.prefix):
                    object.__setattr__(self, name, f"{self.prefix}{value}")
        return self

    def dead_letter(self, topic: str) -> str:
        """The dead-letter topic of a consumed topic."""
        return f"{topic}{self.dead_letter_suffix}"

    def consumed(self) -> list[str]:
        """Topics some service consumes; each has a dead-letter twin."""
        return [
            self.intake_commands,
            self.intake_events,
            self.evidence_events,
            self.payment_records,
            self.escalation_events,
            self.notify_events,
        ]

    def all_topics(self) -> list[str]:
        """Every topic the suite creates, dead-letter topics included."""
        produced_only = [self.intake_replies, self.public_status]
        consumed = self.consumed()
        return consumed + produced_only + [self.dead_letter(t) for t in consumed]


_NAME_FIELDS = (
    "intake_commands", "intake_replies", "intake_events", "evidence_events", "payment_records",
    "escalation_events", "notify_events", "public_status",
)
