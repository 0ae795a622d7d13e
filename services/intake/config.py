"""Settings of the intake service (env prefix INTAKE_)."""

from __future__ import annotations

from decimal import Decimal

from pydantic import Field, model_validator
from pydantic_settings import SettingsConfigDict

from shared.settings import ServiceSettings

# Rough CNY prices of one major unit; only used to compare an amount with the "high" threshold.
DEFAULT_RATES = {"USD": Decimal("7.1"), "EUR": Decimal("7.7"), "GBP": Decimal("9.0"),
                 "HKD": Decimal("0.91"), "TWD": Decimal("0.22"), "JPY": Decimal("0.047"),
                 "KRW": Decimal("0.0051"), "SGD": Decimal("5.3"), "MYR": Decimal("1.6")}


class IntakeSettings(ServiceSettings):
    """Intake: takes complaints in by HTTP and Kafka, numbers them, keeps the read model."""

    model_config = SettingsConfigDict(env_prefix="INTAKE_", populate_by_name=True, extra="ignore")

    service_name: str = Field("intake", title="Service name")
    http_port: int = Field(8001, title="HTTP port", ge=0, le=65535)
    mongodb_db: str = Field("complaints_intake", title="Database owned by intake")
    consumer_group: str = Field("complaints-intake", title="Consumer group")
    ticket_prefix: str = Field("CP", title="Prefix of ticket numbers", pattern=r"^[A-Z]{1,6}$")
    ticket_block: int = Field(
        16, title="Ticket numbers an instance reserves from the day's counter at a time (1: one per filing)",
        ge=1, le=1000,
    )
    high_amount_minor: int = Field(500_000, title="Amounts above this (minor units) are high priority", ge=1)
    high_amount_currency: str = Field("CNY", title="Currency of the high-amount threshold", pattern=r"^[A-Z]{3}$")
    exchange_rates: dict[str, Decimal] = Field(
        default_factory=lambda: dict(DEFAULT_RATES),
        title="Price of one major unit of each currency in the threshold currency (JSON object)",
    )
    merchant_open_limit: int = Field(10, title="A merchant with this many open complaints makes new ones high", ge=1)
    page_size_max: int = Field(100, title="Largest page of GET /v1/complaints", ge=1, le=1000)
    reconcile_interval_s: float = Field(30.0, title="How often stuck complaints are looked for", gt=0)
    reconcile_after_s: float = Field(
        120.0, title="A complaint some service has not acted on after this long is re-driven", gt=0
    )
    reconcile_horizon_h: float = Field(72.0, title="Complaints filed longer ago are not re-driven", gt=0)

    @model_validator(mode="after")
    def _retention_covers_the_horizon(self) -> IntakeSettings:
        # Re-driving a complaint publishes its stored ComplaintFiled again: it must still be there.
        if self.outbox_retention_h <= self.reconcile_horizon_h:
            raise ValueError(f"outbox_retention_h ({self.outbox_retention_h}) must be above reconcile_horizon_h "
                             f"({self.reconcile_horizon_h}): a complaint re-driven needs its published event kept")
        return self
