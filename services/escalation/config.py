"""Settings of the escalation service (env prefix ESCALATION_)."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from shared.settings import ServiceSettings


class EscalationSettings(ServiceSettings):
    """Escalation: the case lifecycle, routing across tiers and the SLA clocks."""

    model_config = SettingsConfigDict(env_prefix="ESCALATION_", populate_by_name=True, extra="ignore")

    service_name: str = Field("escalation", title="Service name")
    http_port: int = Field(8003, title="HTTP port", ge=0, le=65535)
    mongodb_db: str = Field("complaints_escalation", title="Database owned by escalation")
    consumer_group: str = Field("complaints-escalation", title="Consumer group")
    first_response_hours: float = Field(24, title="First-response clock (hours)", gt=0)
