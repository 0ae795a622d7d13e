"""Money on the wire: integer minor units plus an ISO 4217 currency code, never a float."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class Money(BaseModel):
    """An amount in minor units (fen for CNY) and its currency."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    amount_minor: int = Field(title="Amount in minor units, e.g. 2900 for 29.00 CNY", gt=0)
    currency: str = Field(title="ISO 4217 currency code", pattern=r"^[A-Z]{3}$")

    def __str__(self) -> str:
        return f"{self.amount_minor / 100:.2f} {self.currency}"
