"""Case lifecycle states, the resolution a case ends with, and which moves between states exist."""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum
from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator

from shared.contracts.vocabulary import CaseState as State
from shared.contracts.vocabulary import Tier
from shared.money import Money

DEFAULT_REOPEN_WINDOW = timedelta(days=15)


class Outcome(StrEnum):
    """How a case was settled."""

    REFUND = "refund"
    PARTIAL_REFUND = "partial_refund"
    REISSUE = "reissue"
    COMPENSATION = "compensation"
    UNFREEZE = "unfreeze"
    REJECTED = "rejected"
    FRAUD_TRIPLE = "fraud_triple"  # 退一赔三 (消法 §55): the refund plus three times the price


#: Outcomes that pay money back (with or without compensation on top).
MONEY_OUTCOMES = frozenset({Outcome.REFUND, Outcome.PARTIAL_REFUND, Outcome.COMPENSATION, Outcome.FRAUD_TRIPLE})


FINISHED = frozenset({State.RESOLVED, State.CLOSED, State.WITHDRAWN})
ACTIVE = frozenset(State) - FINISHED
# The complainant holds the ball here, so the platform's and merchant's clocks stop running.
WAITING_ON_COMPLAINANT = frozenset({State.AWAITING_EVIDENCE, State.RESOLUTION_PROPOSED})
TIER_STATES = {
    Tier.PLATFORM: State.PLATFORM_ARBITRATION,
    Tier.PAYMENT_CHANNEL: State.PAYMENT_CHANNEL_DISPUTE,
    Tier.EXTERNAL: State.EXTERNAL,
    Tier.LEGAL: State.LEGAL,
}
_STATE_TIERS = {state: tier for tier, state in TIER_STATES.items()}
_FORWARD = {
    State.FILED: {State.ACKNOWLEDGED, State.IN_REVIEW, State.AWAITING_MERCHANT},
    State.ACKNOWLEDGED: {State.IN_REVIEW, State.AWAITING_MERCHANT, State.AWAITING_EVIDENCE},
    State.IN_REVIEW: {State.AWAITING_MERCHANT, State.AWAITING_EVIDENCE},
    State.AWAITING_MERCHANT: {State.IN_REVIEW, State.AWAITING_EVIDENCE},
}


class Resolution(BaseModel):
    """An outcome with what it takes: money for money outcomes, a reason for a rejection.

    A refund may come with a compensation on top and its basis (e.g. "refund 29 CNY and 10 CNY
    for the delay"); ``amount`` alone is the older shape: the refund of a partial_refund, the
    compensation of a compensation."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    outcome: Outcome
    amount: Money | None = Field(
        None, title="Required for partial_refund and compensation (or give refund / compensation)")
    refund: Money | None = Field(None, title="Money back; a full refund is the order amount")
    compensation: Money | None = Field(None, title="Money on top of any refund")
    compensation_basis: Literal["delay", "fraud_triple", "other"] | None = Field(
        None, title="Why the compensation: delay, fraud_triple (退一赔三) or other")
    keys: int | None = Field(None, ge=1, title="Number of card keys to reissue")
    reason: str = Field("", max_length=2000, title="Required for rejected")

    @model_validator(mode="after")
    def _complete(self) -> Resolution:
        if self.outcome is Outcome.PARTIAL_REFUND and self.amount is None and self.refund is None:
            raise ValueError("amount is required when outcome is partial_refund (or give refund)")
        if self.outcome is Outcome.COMPENSATION and self.amount is None and self.compensation is None:
            raise ValueError("amount is required when outcome is compensation (or give compensation)")
        if self.outcome is Outcome.REJECTED and not self.reason.strip():
            raise ValueError("reason is required when outcome is rejected")
        return self


class CaseStatus(BaseModel):
    """The lifecycle part of a case: its state and what the state machine must remember."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    state: State = State.FILED
    return_to: State | None = Field(None, title="State to go back to after a complainant wait")
    requested_evidence: tuple[str, ...] = ()
    offer: Resolution | None = None
    outcome: Resolution | None = None
    resolved_at: AwareDatetime | None = None
    external_references: tuple[str, ...] = ()
    automatic: bool = Field(False, title="At the automatic tier: no agent has taken it up yet")

    @property
    def handling_state(self) -> State:
        """The state work resumes in once the complainant has answered."""
        if self.state in WAITING_ON_COMPLAINANT:
            return self.return_to or State.IN_REVIEW
        return self.state

    @property
    def tier(self) -> Tier:
        """The escalation tier the case is at."""
        if self.automatic:
            return Tier.AUTOMATIC
        return _STATE_TIERS.get(self.handling_state, Tier.INTERNAL)


def reopen_deadline(*, status: CaseStatus, window: timedelta = DEFAULT_REOPEN_WINDOW) -> datetime | None:
    """Last instant a finished case may be reopened, or None when it cannot be."""
    if status.state not in {State.RESOLVED, State.CLOSED} or status.resolved_at is None:
        return None
    return status.resolved_at + window


def allowed_targets(
    *, status: CaseStatus, at: datetime | None = None, reopen_window: timedelta = DEFAULT_REOPEN_WINDOW
) -> tuple[State, ...]:
    """States the case may move to next (what a 409 lists), in lifecycle order."""
    state, targets = status.state, set()
    if state in ACTIVE:
        targets |= _FORWARD.get(state, set()) | {State.RESOLVED, State.WITHDRAWN}
        targets |= {State.RESOLUTION_PROPOSED}
        targets |= {s for t, s in TIER_STATES.items() if t.rank > status.tier.rank}
        if state in WAITING_ON_COMPLAINANT:
            targets.add(status.handling_state)
        elif state in TIER_STATES.values():
            targets.add(State.AWAITING_EVIDENCE)
    if state is State.RESOLVED:
        targets.add(State.CLOSED)
    deadline = reopen_deadline(status=status, window=reopen_window)
    if deadline is not None and (at is None or at <= deadline):
        targets.add(State.IN_REVIEW)
    targets.discard(state)
    return tuple(s for s in State if s in targets)
