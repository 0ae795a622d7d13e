"""Money on the wire: integer minor units plus an ISO 4217 currency code, never a float."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

#: The largest amount any JSON reader keeps exact (2^53 − 1; JavaScript's safe integer) and far
#: below what the store holds (a 64-bit integer): a larger one is refused naming the field, never
#: a server error. Intake caps what a complainant types much lower (its MAX_MINOR_UNITS).
MAX_SAFE_MINOR = 2**53 - 1


class Money(BaseModel):
    """An amount in minor units (fen for CNY) and its currency."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    amount_minor: int = Field(title="Amount in minor units, e.g. 2900 for 29.00 CNY", gt=0, le=MAX_SAFE_MINOR)
    currency: str = Field(title="ISO 4217 currency code", pattern=r"^[A-Z]{3}$")

    def __str__(self) -> str:
        return f"{self.amount_minor / 100:.2f} {self.currency}"
