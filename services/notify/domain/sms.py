"""What an SMS provider is to notify: the interface, its receipt, and what a refusal means."""

from dataclasses import dataclass
from typing import Protocol


class SmsError(Exception):
    """The provider did not accept the message; permanent means a retry will not help (4xx)."""

    def __init__(self, message: str, *, status_code: int | None = None) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.permanent = status_code is not None and 400 <= status_code < 500 and status_code != 429


@dataclass(frozen=True, slots=True)
class SmsReceipt:
    """What the provider said when it accepted a message."""

    provider_message_id: str | None
    status_code: int


class SmsProvider(Protocol):
    """Anything that can hand one text message to a carrier."""

    async def send(self, *, to: str, text: str, idempotency_key: str) -> SmsReceipt:
        """Send one message or raise SmsError."""
        ...
