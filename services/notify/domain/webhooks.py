"""Sign webhook payloads per the Standard Webhooks spec; what one delivery attempt did."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from standardwebhooks import Webhook


@dataclass(frozen=True, slots=True)
class Attempt:
    """The outcome of one HTTP delivery attempt, as kept in the delivery log."""

    started_at: datetime
    status_code: int | None
    latency_ms: int
    error: str | None

    @property
    def ok(self) -> bool:
        """True for a 2xx answer."""
        return self.status_code is not None and 200 <= self.status_code < 300


def sign_headers(*, msg_id: str, body: bytes, secrets: Sequence[str], timestamp: datetime) -> dict[str, str]:
    """The webhook-id, -timestamp and -signature headers, one v1 signature per active secret."""
    if not secrets:
        raise ValueError("secrets must hold at least one active secret")
    moment = timestamp.astimezone(UTC)
    # Webhook.sign reads the datetime as UTC, so a non-UTC zone must be converted first.
    payload = body.decode("utf-8")
    signatures = " ".join(Webhook(secret).sign(msg_id, moment, payload) for secret in secrets)
    return {"webhook-id": msg_id, "webhook-timestamp": str(int(moment.timestamp())),
            "webhook-signature": signatures}
