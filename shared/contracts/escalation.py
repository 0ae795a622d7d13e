"""Escalation's contracts: the case, its status, tiers, clocks and resolutions."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import AwareDatetime, Field

from shared.envelope import Event
from shared.money import Money


class CaseOpened(Event):
    """A case was opened at its first tier with its clocks running."""

    type: Literal["CaseOpened"] = "CaseOpened"
    tier: str = Field(title="First tier, e.g. internal")
    state: str = Field(title="State after opening")
    clocks: list[dict[str, Any]] = Field(default_factory=list, title="Clocks started: name, due_at")


class ComplaintStatusChanged(Event):
    """The case moved from one state to another (the partner-facing status comes from this)."""

    type: Literal["ComplaintStatusChanged"] = "ComplaintStatusChanged"
    from_state: str = Field(title="State before")
    to_state: str = Field(title="State after")
    tier: str = Field(title="Tier after the change")
    reason: str = Field("", title="Why, as a short code or text")
    actor_role: str = Field("system", title="Role of whoever caused it")
    action: str = Field("", title="The action that caused it, e.g. request_evidence")
    actor_id: str = Field("", title="Subject of whoever caused it, empty for the system")


class ComplaintEscalated(Event):
    """The case moved to another tier."""

    type: Literal["ComplaintEscalated"] = "ComplaintEscalated"
    from_tier: str = Field(title="Tier before")
    to_tier: str = Field(title="Tier after")
    reason: str = Field(title="Why")


class SlaWarning(Event):
    """A clock has used up its warning share."""

    type: Literal["SlaWarning"] = "SlaWarning"
    clock: str = Field(title="Clock name, e.g. first_response")
    due_at: AwareDatetime = Field(title="When it breaches")
    owner: str = Field("", title="Whose clock: complainant, merchant, platform or channel (empty: not said)")
    audience: list[str] = Field(default_factory=list, title="Roles to tell: complainant, merchant, agent, partner")
    stage: Literal["share", "day_before"] = Field("share",
                                                  title="share: its warning share used; day_before: a day left")


class SlaBreached(Event):
    """A clock ran out."""

    type: Literal["SlaBreached"] = "SlaBreached"
    clock: str = Field(title="Clock name")
    due_at: AwareDatetime = Field(title="When it was due")
    escalated_to: str = Field("", title="Tier the breach escalated to, empty when it did not")
    blocked: list[str] = Field(default_factory=list, title="What the tier guard found missing")
    owner: str = Field("", title="Whose clock ran out: complainant, merchant, platform or channel")
    audience: list[str] = Field(default_factory=list, title="Roles to tell: complainant, merchant, agent, partner")


class ResolutionProposed(Event):
    """An offer was made to the complainant."""

    type: Literal["ResolutionProposed"] = "ResolutionProposed"
    outcome: str = Field(title="refund, partial_refund, reissue, compensation, unfreeze, rejected")
    detail: dict[str, Any] = Field(default_factory=dict, title="Amounts, counts, reason")
    refund: Money | None = Field(None, title="Money back, when the offer includes a refund")
    compensation: Money | None = Field(None, title="Money on top of any refund, when offered")
    compensation_basis: str = Field("", title="Why compensation: delay, fraud_triple (退一赔三), other")
    automatic: bool = Field(False, title="Made by the automatic tier, no agent involved")
    missing_evidence_overridden: list[str] = Field(
        default_factory=list, title="Required evidence missing, proposed anyway by an agent's override")


class ResolutionAccepted(Event):
    """The complainant accepted the offer."""

    type: Literal["ResolutionAccepted"] = "ResolutionAccepted"
    outcome: str = Field(title="The accepted outcome")


class ResolutionRejected(Event):
    """The complainant rejected the offer."""

    type: Literal["ResolutionRejected"] = "ResolutionRejected"
    reason: str = Field("", title="Why")


class CaseAssigned(Event):
    """An agent took the case."""

    type: Literal["CaseAssigned"] = "CaseAssigned"
    agent_id: str = Field(title="The assigned agent")
    assigned_by: str = Field("", title="Who assigned it (subject), empty for the system")


class AccountFreezeConfirmed(Event):
    """Someone confirmed the account or payment instrument is frozen (the freeze request is met)."""

    type: Literal["AccountFreezeConfirmed"] = "AccountFreezeConfirmed"
    confirmed_by: str = Field("", title="Role of whoever confirmed it: agent or partner")
    note: str = Field("", title="What was frozen, in their words", max_length=500)
