"""Settings of the evidence service (env prefix EVIDENCE_)."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from services.evidence.domain.hashing import DEFAULT_MAX_COMPLAINT_BYTES, DEFAULT_MAX_FILE_BYTES
from shared.settings import ServiceSettings

# A fixed key so local runs work out of the box; production sets EVIDENCE_CARD_KEY_FERNET_KEYS.
LOCAL_FERNET_KEY = "bG9jYWwtZGV2ZWxvcG1lbnQta2V5LWNoYW5nZS1tZSE="


class EvidenceSettings(ServiceSettings):
    """Evidence: stores evidence, proves it unaltered, judges it and exports dossiers."""

    model_config = SettingsConfigDict(env_prefix="EVIDENCE_", populate_by_name=True, extra="ignore")

    service_name: str = Field("evidence", title="Service name")
    http_port: int = Field(8002, title="HTTP port", ge=0, le=65535)
    mongodb_db: str = Field("complaints_evidence", title="Database owned by evidence")
    consumer_group: str = Field("complaints-evidence", title="Consumer group")
    max_file_bytes: int = Field(DEFAULT_MAX_FILE_BYTES, title="Largest evidence file", ge=1)
    max_complaint_bytes: int = Field(DEFAULT_MAX_COMPLAINT_BYTES,
                                     title="Total evidence bytes one complaint may hold", ge=1)
    relevance_window_hours: float = Field(24.0, title="How far an item's time may be from the "
                                                      "order's before it is listed as a mismatch",
                                          gt=0)
    card_key_issuer_url: str | None = Field(None, title="Base URL of the card-key issuer; "
                                                        "unset disables re-validation")
    card_key_timeout_s: float = Field(5.0, title="Timeout of one issuer call", gt=0)
    card_key_retries: int = Field(2, title="Retries after a failed issuer call", ge=0, le=10)
    card_key_backoff_s: float = Field(0.5, title="First retry delay (doubles)", ge=0)
    card_key_fernet_keys: list[str] = Field(
        default_factory=lambda: [LOCAL_FERNET_KEY], min_length=1,
        title="Fernet keys encrypting card keys at rest (JSON list; the first encrypts, all "
              "decrypt); set it in production")
    def default_secrets(self) -> list[str]:
        """The common defaults, and the committed card-key Fernet key (production sets its own)."""
        found = super().default_secrets()
        if LOCAL_FERNET_KEY in self.card_key_fernet_keys:
            found.append("EVIDENCE_CARD_KEY_FERNET_KEYS holds the Fernet key committed in the repository (or is "
                         "unset): set your own keys, e.g. from Fernet.generate_key()")
        return found

    orphan_sweep_interval_s: float = Field(600.0, title="How often content left by crashed "
                                                        "uploads is looked for", gt=0)
    orphan_age_s: float = Field(3600.0, title="Age after which unowned content is removed",
                                gt=0)
