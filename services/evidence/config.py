"""Settings of the evidence service (env prefix EVIDENCE_)."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from shared.settings import ServiceSettings


class EvidenceSettings(ServiceSettings):
    """Evidence: stores evidence, proves it unaltered, judges it and exports dossiers."""

    model_config = SettingsConfigDict(env_prefix="EVIDENCE_", populate_by_name=True, extra="ignore")

    service_name: str = Field("evidence", title="Service name")
    http_port: int = Field(8002, title="HTTP port", ge=0, le=65535)
    mongodb_db: str = Field("complaints_evidence", title="Database owned by evidence")
    consumer_group: str = Field("complaints-evidence", title="Consumer group")
