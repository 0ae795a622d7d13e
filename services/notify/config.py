"""Settings of the notify service (env prefix NOTIFY_)."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from shared.settings import ServiceSettings


class NotifySettings(ServiceSettings):
    """Notify: tells every party what happened, exactly once."""

    model_config = SettingsConfigDict(env_prefix="NOTIFY_", populate_by_name=True, extra="ignore")

    service_name: str = Field("notify", title="Service name")
    http_port: int = Field(8004, title="HTTP port", ge=0, le=65535)
    mongodb_db: str = Field("complaints_notify", title="Database owned by notify")
    consumer_group: str = Field("complaints-notify", title="Consumer group")
