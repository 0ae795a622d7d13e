"""Settings of the notify service (env prefix NOTIFY_)."""

from __future__ import annotations

from pydantic import Field, SecretStr
from pydantic_settings import SettingsConfigDict

from services.notify.domain.email import TlsMode
from shared.settings import ServiceSettings


class NotifySettings(ServiceSettings):
    """Notify: tells every party what happened, exactly once."""

    model_config = SettingsConfigDict(env_prefix="NOTIFY_", populate_by_name=True, extra="ignore")

    service_name: str = Field("notify", title="Service name")
    http_port: int = Field(8004, title="HTTP port", ge=0, le=65535)
    mongodb_db: str = Field("complaints_notify", title="Database owned by notify")
    consumer_group: str = Field("complaints-notify", title="Consumer group")
    consume_batch_max: int = Field(
        1024, title="Most messages a consumer takes in one poll; applied in shared transactions of up to "
        "consume_group_max, each one's handlers running while the one before it commits", ge=1)

    smtp_host: str | None = Field(None, title="SMTP server; unset turns the email channel off")
    smtp_port: int = Field(587, title="SMTP port", ge=1, le=65535)
    smtp_tls: TlsMode = Field(TlsMode.STARTTLS, title="SMTP protection: none, starttls or tls")
    smtp_username: str | None = Field(None, title="SMTP user name")
    smtp_password: SecretStr | None = Field(None, title="SMTP password")
    smtp_sender: str = Field("Complaints <no-reply@complaints.example>", title="From address")
    smtp_timeout_s: float = Field(10.0, title="Seconds one SMTP send may take", gt=0)

    sms_url: str | None = Field(None, title="SMS provider endpoint; unset turns the SMS channel off")
    sms_api_key: SecretStr | None = Field(None, title="SMS provider API key")
    sms_timeout_s: float = Field(10.0, title="Seconds one SMS send may take", gt=0)

    webhook_timeout_s: float = Field(10.0, title="Seconds one webhook POST may take", gt=0)
    webhook_allow_private_targets: bool = Field(
        False, title="Allow webhook URLs on loopback, private or link-local addresses (local runs only)")
    webhook_private_hosts: list[str] = Field(
        default_factory=list, title="Host names (JSON list) whose webhook URLs may resolve to private addresses, "
                                    "e.g. a partner's relay inside the network; every other host is checked")
    webhook_pause_after_failures: int = Field(10, title="Failures in a row before an endpoint is paused", ge=1)
    webhook_pause_after_s: float = Field(86_400.0, title="Span of those failures before a pause", ge=0)
    subscriptions_max_age_s: float = Field(
        1.0, title="How old the list of a platform's subscriptions may be when an event is planned; a "
                   "subscription made through another instance gets events from this long after creation", ge=0)
    events_list_settle_s: float = Field(
        5.0, title="GET /v1/events lists an event once it was recorded this long ago: a transaction still "
                   "committing (another consumer's, another instance's) cannot then be passed by a cursor", ge=0)
    webhook_secret_grace_s: float = Field(86_400.0, title="How long a rotated-out secret still signs", ge=0)

    retry_base_s: float = Field(30.0, title="First retry delay ceiling (doubles per attempt, full jitter)", gt=0)
    retry_max_delay_s: float = Field(43_200.0, title="Largest delay between two attempts", gt=0)
    retry_horizon_s: float = Field(259_200.0, title="Give up this long after the first attempt (3 days)", gt=0)
    retry_max_attempts: int = Field(30, title="Attempts before a delivery is given up", ge=1)

    delivery_lease_s: float = Field(60.0, title="How long a claimed delivery is held before another try", gt=0)
    delivery_poll_s: float = Field(1.0, title="How often the worker looks for due deliveries when idle", gt=0)
    concurrency_email: int = Field(8, title="Emails sent at the same time", ge=1)
    concurrency_sms: int = Field(8, title="SMS sent at the same time", ge=1)
    concurrency_webhook: int = Field(32, title="Webhook POSTs in flight at the same time", ge=1)
    concurrency_per_endpoint: int = Field(4, title="Webhook POSTs in flight per endpoint", ge=1)
    webhook_early_wait_s: float = Field(
        0.05, title="How long a consumed batch's commit waits for its webhooks sent meanwhile", ge=0, le=5)

    evidence_reminder_after_s: float = Field(
        86_400.0, title="Remind the complainant when evidence is still missing this long after assessment", gt=0)
    digest_time_shanghai: str = Field("09:00", title="Daily breach digest time (HH:MM, Asia/Shanghai)",
                                      pattern=r"^([01]\d|2[0-3]):[0-5]\d$")
    reminder_poll_s: float = Field(5.0, title="How often due reminders are looked for", gt=0)
    console_url: str | None = Field(
        None, title="The console's public base URL; set, the filing notice gives the complainant a signed "
                    "status link (/s/<token>) to their ticket's page")
    status_link_secret: str | None = Field(
        None, title="Signs the status links (the console checks them with the same value); unset: the auth secret",
        validation_alias="COMPLAINTS_STATUS_LINK_SECRET")
    status_link_days: float = Field(30.0, title="How long a status link stays valid", gt=0)
