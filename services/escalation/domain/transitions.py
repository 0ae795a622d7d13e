"""Performing an action on a case: permission, legality, and the timeline step it produces."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from pydantic import AwareDatetime, BaseModel, ConfigDict

from services.escalation.domain.actions import (
    PERMITTED,
    RECORDS,
    Action,
    ActionNotPermitted,
    IllegalTransition,
    MerchantDecision,
)
from services.escalation.domain.states import (
    ACTIVE,
    DEFAULT_REOPEN_WINDOW,
    CaseStatus,
    Resolution,
    State,
    allowed_targets,
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
    overridden_evidence: tuple[str, ...] = ()  # required evidence missing, passed over by an agent's override


def perform(
    *, status: CaseStatus, action: Action, actor: Party, at: datetime, reason: str = "",
    resolution: Resolution | None = None, decision: MerchantDecision | None = None,
    target: Tier | None = None, items: Sequence[str] = (), reference: str = "",
    reopen_window: timedelta = DEFAULT_REOPEN_WINDOW, internal_ended: bool = True,
    freeze_confirmed: bool = False,
) -> Step:
    """Apply an action; raises ActionNotPermitted, IllegalTransition or ActionInvalid.

    internal_ended: whether internal handling has failed or ended (an external filing then moves
    the case on); freeze_confirmed: whether the account freeze was already confirmed."""
    if actor not in PERMITTED[action]:
        raise ActionNotPermitted(action=action, actor=actor)
    legal = allowed_targets(status=status, at=at, reopen_window=reopen_window)
    ctx = dict(reason=reason.strip(), resolution=resolution, decision=decision, target=target,
               items=tuple(items), reference=reference.strip(), at=at, legal=legal,
               internal_ended=internal_ended, freeze_confirmed=freeze_confirmed)
    new = RULES[action](status, action, **ctx)
    stays = new.state == status.state and (status.state in ACTIVE or action in RECORDS)
    if new.state not in legal and not stays:
        raise IllegalTransition(state=status.state, action=action, allowed=legal)
    if new.automatic and not _keeps_automatic(action=action, actor=actor):
        new = new.model_copy(update={"automatic": False})  # anyone else acting hands the case to internal handling
    return Step(action=action, actor=actor, at=at, from_state=status.state, to_state=new.state,
                from_tier=status.tier, to_tier=new.tier, reason=reason.strip(), status=new)


def _keeps_automatic(*, action: Action, actor: Party) -> bool:
    """Only the automatic tier's own offer, and the complainant taking it, stay at the automatic tier."""
    return (action, actor) in {(Action.PROPOSE_RESOLUTION, Party.SYSTEM), (Action.ACCEPT_RESOLUTION, Party.COMPLAINANT),
                               (Action.WITHDRAW, Party.COMPLAINANT)}
