"""The facts a notification is built from, and the vocabulary of readers and channels."""

from collections.abc import Mapping
from datetime import UTC
from enum import StrEnum
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator

from shared.contracts.vocabulary import Role as Role  # re-exported: services.notify imports Role from here

SHANGHAI = "Asia/Shanghai"


class Channel(StrEnum):
    """How a notification travels."""

    IN_APP = "in_app"
    EMAIL = "email"
    SMS = "sms"
    WEBHOOK = "webhook"


class Language(StrEnum):
    """Languages the templates are written in."""

    ZH_CN = "zh-CN"
    EN = "en"


def check_time_zone(value: str) -> str:
    """Return the IANA zone name unchanged, or raise ValueError naming the rule."""
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"time_zone must be an IANA zone name such as {SHANGHAI}, got {value!r}") from exc
    return value


class Notice(BaseModel):
    """One domain event as the notify service sees it; only what readers may be told."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    event_id: str = Field(min_length=1)
    event_type: str = Field(min_length=1)
    complaint_id: str = Field(min_length=1)
    ticket: str = Field(min_length=1)
    occurred_at: AwareDatetime
    deadline: AwareDatetime | None = None
    from_state: str | None = None
    to_state: str | None = None
    tier: str | None = None
    reason: str | None = None
    order_no: str | None = None
    missing_evidence: tuple[str, ...] = ()
    amount_minor: int | None = None
    currency: str | None = Field(default=None, pattern=r"^[A-Z]{3}$")
    details: Mapping[str, str] = Field(default_factory=dict)
    # Whose clock, at which stage (SlaWarning, SlaBreached).
    clock: str | None = None
    owner: str | None = None
    stage: str | None = None
    # An offer's parts (ResolutionProposed): refund and compensation, each in its own currency.
    outcome: str | None = None
    refund_minor: int | None = None
    refund_currency: str | None = Field(default=None, pattern=r"^[A-Z]{3}$")
    compensation_minor: int | None = None
    compensation_currency: str | None = Field(default=None, pattern=r"^[A-Z]{3}$")
    compensation_basis: str | None = None
    automatic: bool = False
    # A freeze (AccountFreezeRequested, AccountFreezeConfirmed): what, through which channel, who confirmed.
    freeze: tuple[str, ...] = ()
    payment_channel: str | None = None
    confirmed_by: str | None = None

    @field_validator("occurred_at", "deadline")
    @classmethod
    def _utc(cls, value: AwareDatetime | None) -> AwareDatetime | None:
        # Stored and compared in UTC; reader zones are applied only when rendering.
        return value.astimezone(UTC) if value is not None else None
