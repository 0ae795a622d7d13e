"""Settings helpers: the connection, consumer and telemetry fields every service shares."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import AliasChoices, Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from shared.topics import TopicSettings


def _env(name: str) -> Any:
    """Bind a field to one unprefixed environment variable, whatever the class prefix."""
    return AliasChoices(name)


#: Auth secrets committed in the repository (the settings' default, the Kubernetes placeholder).
KNOWN_AUTH_SECRETS = frozenset({"local-development-secret-change-me-0123456789",
                                "replace-with-a-random-secret-of-at-least-32-bytes"})


class ServiceSettings(BaseSettings):
    """Fields common to every service; each service subclasses it with its own env prefix."""

    model_config = SettingsConfigDict(populate_by_name=True, extra="ignore")

    service_name: str = Field("service", title="Service name used in spans, logs and client ids")
    http_host: str = Field("127.0.0.1", title="Address the HTTP API listens on")
    http_port: int = Field(8000, title="Port the HTTP API listens on", ge=0, le=65535)
    mongodb_db: str = Field("complaints", title="Database owned by this service")
    consumer_group: str = Field(
        "complaints", title="Kafka consumer group name of this service; each topic it reads gets its own group, "
                            "`<name>.<topic>`")

    kafka_bootstrap_servers: str = Field(
        "127.0.0.1:9092",
        title="Kafka bootstrap servers",
        validation_alias=_env("KAFKA_BOOTSTRAP_SERVERS"),
    )
    mongodb_uri: str = Field(
        "mongodb://127.0.0.1:27017/?directConnection=true",
        title="MongoDB connection URI",
        validation_alias=_env("MONGODB_URI"),
    )
    mongodb_timeout_ms: int = Field(
        3000,
        title="How long a store call may wait for a server before failing",
        validation_alias=_env("MONGODB_TIMEOUT_MS"),
    )
    kafka_session_timeout_ms: int = Field(
        10_000,
        title="Consumer session timeout; shorter moves partitions of a dead member sooner",
        validation_alias=_env("KAFKA_SESSION_TIMEOUT_MS"),
    )
    kafka_heartbeat_interval_ms: int = Field(
        3_000,
        title="Consumer heartbeat interval; about a third of the session timeout",
        validation_alias=_env("KAFKA_HEARTBEAT_INTERVAL_MS"),
    )
    otel_exporter_otlp_endpoint: str | None = Field(
        None,
        title="OTLP endpoint; when unset spans are stored in the telemetry database",
        validation_alias=_env("OTEL_EXPORTER_OTLP_ENDPOINT"),
    )
    telemetry_db: str = Field(
        "complaints_telemetry",
        title="Database where spans land when no OTLP endpoint is set",
        validation_alias=_env("COMPLAINTS_TELEMETRY_DB"),
    )
    telemetry_uri: str | None = Field(
        None,
        title="MongoDB URI of the span store when no OTLP endpoint is set; unset: MONGODB_URI. Every "
              "service must name the same one, so that a complaint's trace is read in one place",
        validation_alias=_env("COMPLAINTS_TELEMETRY_URI"),
    )
    span_export_delay_ms: int = Field(
        # Each flush builds and sends a document per trace while the service works: every 2 s, not
        # every 0.5 s, took lifecycle p99 at 50/s from 1.0-1.2 s to 0.7-1.0 s on two cores (bench.lifecycle).
        2000,
        title="How often finished spans are flushed to the exporter (a trace shows this much later)",
        validation_alias=_env("COMPLAINTS_SPAN_EXPORT_DELAY_MS"),
    )
    outbox_poll_interval_s: float = Field(
        0.5, title="How often the outbox relay looks for pending events when not woken", gt=0
    )
    outbox_batch_size: int = Field(200, title="Outbox entries published per relay round", ge=1)
    outbox_max_attempts: int = Field(
        50, title="Publish attempts before an outbox entry is marked failed", ge=1
    )
    outbox_retention_h: float = Field(
        168.0, title="Published outbox entries are removed this long after they went out (what "
        "re-driving sends again: keep it above intake's reconcile horizon)", gt=0
    )
    outbox_prune_interval_s: float = Field(
        600.0, title="How often published outbox entries past their retention are removed", gt=0
    )
    ledger_retention_h: float = Field(
        336.0, title="Applied-event ledger entries expire this long after they were applied (a TTL index; must be "
        "above outbox_retention_h)", gt=0
    )
    span_retention_h: float = Field(
        168.0, title="Stored spans expire this long after they were stored (a TTL index on the span store)", gt=0,
        validation_alias=_env("COMPLAINTS_SPAN_RETENTION_H")
    )
    republish_after_s: float = Field(
        30.0, title="A cause redelivered this long after its effects went out sends them again", ge=0
    )
    consume_batch_max: int = Field(
        64, title="Most messages a consumer takes in one poll and applies in one shared transaction "
        "(1: each message alone)", ge=1
    )
    consume_group_max: int = Field(
        64, title="Most messages applied in one shared transaction: a poll with more applies them as "
        "several, each one's handlers running while the one before it commits", ge=1
    )
    consume_batch_wait_ms: int = Field(
        25, title="How long a consumer's poll waits for messages before it polls again", ge=1
    )
    max_event_bytes: int = Field(
        262_144, title="Largest event a consumer accepts; bigger ones are dead-lettered", ge=1024
    )
    auth_secret: str = Field(
        "local-development-secret-change-me-0123456789",
        title="HS256 secret that signs bearer tokens (at least 32 bytes); set it in production",
        min_length=32,
        validation_alias=_env("COMPLAINTS_AUTH_SECRET"),
    )
    auth_jwks_url: str | None = Field(
        None,
        title="JWKS of an OIDC issuer: when set, bearer tokens are verified with its RS256/ES256 keys only "
              "(the HS256 secret is not used, and the services cannot mint tokens)",
        validation_alias=_env("COMPLAINTS_AUTH_JWKS_URL"),
    )
    auth_issuer: str = Field(
        "complaints-intake", title="Expected `iss` of bearer tokens", validation_alias=_env("COMPLAINTS_AUTH_ISSUER"))
    auth_audience: str = Field(
        "complaints", title="Expected `aud` of bearer tokens", validation_alias=_env("COMPLAINTS_AUTH_AUDIENCE"))
    env: Literal["local", "production"] = Field(
        "local", title="production: refuse to start on default secrets and unknown settings",
        validation_alias=_env("COMPLAINTS_ENV"))
    kafka_security_protocol: Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"] = Field(
        "PLAINTEXT", title="How the Kafka clients connect", validation_alias=_env("KAFKA_SECURITY_PROTOCOL"))
    kafka_sasl_mechanism: Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"] | None = Field(
        None, title="SASL mechanism (with SASL_PLAINTEXT or SASL_SSL)", validation_alias=_env("KAFKA_SASL_MECHANISM"))
    kafka_sasl_username: str | None = Field(
        None, title="SASL user name", validation_alias=_env("KAFKA_SASL_USERNAME"))
    kafka_sasl_password: SecretStr | None = Field(
        None, title="SASL password (never shown)", validation_alias=_env("KAFKA_SASL_PASSWORD"))
    kafka_ssl_cafile: str | None = Field(
        None, title="CA bundle the broker's certificate is checked against (SSL, SASL_SSL; unset: the system's)",
        validation_alias=_env("KAFKA_SSL_CAFILE"))
    kafka_ssl_certfile: str | None = Field(
        None, title="Client certificate for mutual TLS", validation_alias=_env("KAFKA_SSL_CERTFILE"))
    kafka_ssl_keyfile: str | None = Field(
        None, title="Private key of the client certificate", validation_alias=_env("KAFKA_SSL_KEYFILE"))
    log_level: str = Field("INFO", title="Log level", validation_alias=_env("COMPLAINTS_LOG_LEVEL"))
    log_format: Literal["json", "text"] = Field(
        "json", title="json: one JSON object per line with trace and span ids; text: readable lines for local runs",
        validation_alias=_env("COMPLAINTS_LOG_FORMAT"))
    trace_query_url: str | None = Field(
        None, title="Jaeger's query service (e.g. http://jaeger:16686): where the trace endpoint reads a trace "
                    "when spans go to OTEL_EXPORTER_OTLP_ENDPOINT", validation_alias=_env("COMPLAINTS_TRACE_QUERY_URL"))
    topics: TopicSettings = Field(default_factory=TopicSettings, title="Topic names")

    @model_validator(mode="after")
    def _kafka_security_consistent(self) -> ServiceSettings:
        """A SASL protocol needs its mechanism and credentials; credentials need a SASL protocol."""
        sasl = self.kafka_security_protocol.startswith("SASL_")
        problems: list[str] = []
        if sasl:
            if not self.kafka_sasl_mechanism:
                problems.append(f"KAFKA_SASL_MECHANISM is required with KAFKA_SECURITY_PROTOCOL="
                                f"{self.kafka_security_protocol}")
            if not self.kafka_sasl_username:
                problems.append("KAFKA_SASL_USERNAME is required with a SASL protocol")
            if self.kafka_sasl_password is None:
                problems.append("KAFKA_SASL_PASSWORD is required with a SASL protocol")
        elif self.kafka_sasl_mechanism or self.kafka_sasl_username:
            problems.append(f"KAFKA_SASL_MECHANISM/KAFKA_SASL_USERNAME need KAFKA_SECURITY_PROTOCOL=SASL_PLAINTEXT "
                            f"or SASL_SSL (it is {self.kafka_security_protocol})")
        if bool(self.kafka_ssl_certfile) != bool(self.kafka_ssl_keyfile):
            problems.append("KAFKA_SSL_CERTFILE and KAFKA_SSL_KEYFILE go together")
        if problems:
            raise ValueError("; ".join(problems))
        return self

    def default_secrets(self) -> list[str]:
        """The settings still at a value committed in the repository (refused in production), named."""
        found: list[str] = []
        if self.auth_jwks_url is None and self.auth_secret in KNOWN_AUTH_SECRETS:
            found.append("COMPLAINTS_AUTH_SECRET is the committed default: set a random secret of at least 32 bytes")
        return found

    @property
    def span_store_uri(self) -> str:
        """Where spans are stored and read when no OTLP endpoint is set."""
        return self.telemetry_uri or self.mongodb_uri


def env_names(settings_cls: type[BaseSettings]) -> set[str]:
    """Every environment variable name a settings class reads (used to check deploy files)."""
    prefix = (settings_cls.model_config.get("env_prefix") or "").upper()
    names: set[str] = set()
    for name, field in settings_cls.model_fields.items():
        alias = field.validation_alias
        if isinstance(alias, AliasChoices):
            names.update(str(choice).upper() for choice in alias.choices)
        elif isinstance(alias, str):
            names.add(alias.upper())
        else:
            names.add(f"{prefix}{name}".upper())
    return names
