"""Settings of the intake service (env prefix INTAKE_)."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from shared.settings import ServiceSettings


class IntakeSettings(ServiceSettings):
    """Intake: takes complaints in by HTTP and Kafka, numbers them, keeps the read model."""

    model_config = SettingsConfigDict(env_prefix="INTAKE_", populate_by_name=True, extra="ignore")

    service_name: str = Field("intake", title="Service name")
    http_port: int = Field(8001, title="HTTP port", ge=0, le=65535)
    mongodb_db: str = Field("complaints_intake", title="Database owned by intake")
    consumer_group: str = Field("complaints-intake", title="Consumer group")
    ticket_prefix: str = Field("CP", title="Prefix of ticket numbers", pattern=r"^[A-Z]{1,6}$")
