"""Performing an action on a case: permission, legality, and the timeline step it produces."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from pydantic import AwareDatetime, BaseModel, ConfigDict

from services.escalation.domain.actions import (
    PERMITTED, Action, ActionNotPermitted, IllegalTransition, MerchantDecision,
)
from services.escalation.domain.states import (
    ACTIVE, DEFAULT_REOPEN_WINDOW, CaseStatus, Resolution, State, allowed_targets,
)
from services.escalation.domain.terms import Party
from services.escalation.domain.transition_rules import RULES
from shared.contracts.vocabulary import Tier


class Step(BaseModel):
    """One timeline entry: who did what, when, and the status it left behind."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    action: Action
    actor: Party
    at: AwareDatetime
    from_state: State
    to_state: State
    from_tier: Tier
    to_tier: Tier
    reason: str = ""
    status: CaseStatus


def perform(
    *, status: CaseStatus, action: Action, actor: Party, at: datetime, reason: str = "",
    resolution: Resolution | None = None, decision: MerchantDecision | None = None,
    target: Tier | None = None, items: Sequence[str] = (), reference: str = "",
    reopen_window: timedelta = DEFAULT_REOPEN_WINDOW,
) -> Step:
    """Apply an action; raises ActionNotPermitted, IllegalTransition or ActionInvalid."""
    if actor not in PERMITTED[action]:
        raise ActionNotPermitted(action=action, actor=actor)
    legal = allowed_targets(status=status, at=at, reopen_window=reopen_window)
    ctx = dict(reason=reason.strip(), resolution=resolution, decision=decision, target=target,
               items=tuple(items), reference=reference.strip(), at=at, legal=legal)
    new = RULES[action](status, action, **ctx)
    if new.state not in legal and not (new.state == status.state and status.state in ACTIVE):
        raise IllegalTransition(state=status.state, action=action, allowed=legal)
    return Step(action=action, actor=actor, at=at, from_state=status.state, to_state=new.state,
                from_tier=status.tier, to_tier=new.tier, reason=reason.strip(), status=new)
