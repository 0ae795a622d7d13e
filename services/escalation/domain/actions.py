"""Actions on a case: who may take them and the state change each one makes."""

from __future__ import annotations

from enum import StrEnum

from services.escalation.domain.states import State
from services.escalation.domain.terms import Party

A, C, M, S = Party.AGENT, Party.COMPLAINANT, Party.MERCHANT, Party.SYSTEM


class Action(StrEnum):
    """Something a party does to a case."""

    ASSIGN = "assign"
    RESPOND = "respond"
    FORWARD_TO_MERCHANT = "forward_to_merchant"
    REQUEST_EVIDENCE = "request_evidence"
    PROVIDE_EVIDENCE = "provide_evidence"
    MERCHANT_RESPONSE = "merchant_response"
    PROPOSE_RESOLUTION = "propose_resolution"
    ACCEPT_RESOLUTION = "accept_resolution"
    REJECT_RESOLUTION = "reject_resolution"
    ESCALATE = "escalate"
    RECORD_EXTERNAL_FILING = "record_external_filing"
    RESOLVE = "resolve"
    CLOSE = "close"
    REOPEN = "reopen"
    WITHDRAW = "withdraw"
    CONFIRM_FREEZE = "confirm_freeze"


class MerchantDecision(StrEnum):
    """The merchant's answer to a complaint."""

    ACCEPT_REFUND = "accept_refund"
    REISSUE = "reissue"
    CONTEST = "contest"


PERMITTED: dict[Action, frozenset[Party]] = {
    Action.ASSIGN: frozenset({A, S}),
    Action.RESPOND: frozenset({A}),
    Action.FORWARD_TO_MERCHANT: frozenset({A, S}),
    Action.REQUEST_EVIDENCE: frozenset({A}),
    Action.PROVIDE_EVIDENCE: frozenset({C}),
    Action.MERCHANT_RESPONSE: frozenset({M}),
    Action.PROPOSE_RESOLUTION: frozenset({A, M, S}),  # the system: the automatic tier's refund
    Action.ACCEPT_RESOLUTION: frozenset({C}),
    Action.REJECT_RESOLUTION: frozenset({C}),
    Action.ESCALATE: frozenset({A, C, S}),
    Action.RECORD_EXTERNAL_FILING: frozenset({A, C}),
    Action.RESOLVE: frozenset({A, S}),
    Action.CLOSE: frozenset({A, S}),
    Action.REOPEN: frozenset({A, C}),
    Action.WITHDRAW: frozenset({C}),
    Action.CONFIRM_FREEZE: frozenset({A}),  # agents and the platform's partner (who acts as agent)
}
#: Actions that only record a fact: they apply to a finished case too and leave the state alone.
RECORDS = frozenset({Action.CONFIRM_FREEZE, Action.RECORD_EXTERNAL_FILING})


class ActionNotPermitted(Exception):
    """This party may not take this action (HTTP 403)."""

    def __init__(self, *, action: Action, actor: Party) -> None:
        self.action, self.actor = action, actor
        self.permitted = tuple(p for p in Party if p in PERMITTED[action])
        names = ", ".join(self.permitted)
        super().__init__(f"{actor} may not {action}; only {names} may")


class IllegalTransition(Exception):
    """The action does not apply in the current state (HTTP 409); carries the allowed targets."""

    def __init__(self, *, state: State, action: Action, allowed: tuple[State, ...], why: str = "") -> None:
        self.state, self.action, self.allowed = state, action, allowed
        listed = ", ".join(allowed) or "none"
        super().__init__(f"cannot {action} a case in state {state}{why}; allowed next states: {listed}")


class ActionInvalid(ValueError):
    """A field the action needs is missing or wrong (HTTP 422); names the field and the rule."""

    def __init__(self, *, field: str, rule: str) -> None:
        self.field, self.rule = field, rule
        super().__init__(f"{field}: {rule}")
