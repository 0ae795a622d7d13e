"""Webhook signing secrets in the Standard Webhooks format, with rotation and grace periods."""

import base64
import binascii
import secrets
from collections.abc import Sequence
from datetime import datetime, timedelta

from pydantic import AwareDatetime, BaseModel, ConfigDict, field_validator

PREFIX = "whsec_"
DEFAULT_GRACE = timedelta(hours=24)


def create_secret(*, size: int = 32) -> str:
    """A new random secret: 'whsec_' plus base64 of size random bytes (24 to 64)."""
    if not 24 <= size <= 64:
        raise ValueError(f"size must be between 24 and 64 bytes, got {size}")
    return PREFIX + base64.b64encode(secrets.token_bytes(size)).decode("ascii")


class SigningSecret(BaseModel):
    """One secret of an endpoint; it signs deliveries until expires_at (None: no end set)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    value: str
    created_at: AwareDatetime
    expires_at: AwareDatetime | None = None

    @field_validator("value")
    @classmethod
    def _format(cls, value: str) -> str:
        try:
            raw = base64.b64decode(value.removeprefix(PREFIX), validate=True)
        except (binascii.Error, ValueError) as exc:
            raise ValueError("secret must be 'whsec_' followed by base64") from exc
        if not value.startswith(PREFIX) or not 24 <= len(raw) <= 64:
            raise ValueError("secret must be 'whsec_' followed by base64 of 24 to 64 bytes")
        return value

    def __repr__(self) -> str:
        # Keep the secret out of logs and tracebacks.
        return f"SigningSecret(created_at={self.created_at.isoformat()}, expires_at={self.expires_at})"

    __str__ = __repr__


def active_secrets(*, secrets: Sequence[SigningSecret], now: datetime) -> list[str]:
    """Values that still sign deliveries at now, newest first."""
    live = [s for s in secrets if s.expires_at is None or s.expires_at > now]
    return [s.value for s in sorted(live, key=lambda s: s.created_at, reverse=True)]


def rotate_secrets(*, secrets: Sequence[SigningSecret], now: datetime, grace: timedelta = DEFAULT_GRACE,
                   new_value: str | None = None) -> tuple[SigningSecret, ...]:
    """Add a new secret; older ones keep signing until now + grace, expired ones are dropped."""
    # During the grace period every delivery carries one signature per live secret, so a
    # partner can switch verifiers whenever it likes without a failed check.
    until = now + grace
    kept = tuple(
        s.model_copy(update={"expires_at": until if s.expires_at is None else min(s.expires_at, until)})
        for s in secrets if s.expires_at is None or s.expires_at > now
    )
    fresh = SigningSecret(value=new_value or create_secret(), created_at=now)
    return (fresh, *kept)
