"""Writing one lifecycle step: clocks, timers, the case document and its events, in one transaction."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from services.escalation.domain.actions import Action
from services.escalation.domain.clocks import Clock
from services.escalation.domain.effects import CaseFacts, apply_clock_changes, clock_changes
from services.escalation.domain.routing import Route
from services.escalation.domain.states import CaseStatus, Outcome, State
from services.escalation.domain.terms import Party
from services.escalation.domain.transitions import Step
from services.escalation.repository import cases, timers
from services.escalation.service.rules import Rules
from shared.contracts.escalation import (
    ComplaintEscalated,
    ComplaintStatusChanged,
    ResolutionAccepted,
    ResolutionProposed,
    ResolutionRejected,
)
from shared.contracts.vocabulary import Tier
from shared.envelope import Event
from shared.money import Money
from shared.outbox import emit
from shared.store import UnitOfWork

AUTOMATIC_WINDOW = "automatic_window"  # the automatic tier's window (policy.yaml clocks)


def status_of(doc: Mapping[str, Any]) -> CaseStatus:
    """The lifecycle status stored on a case."""
    return CaseStatus.model_validate(doc["status"])


def route_of(doc: Mapping[str, Any]) -> Route:
    """The route stored on a case."""
    return Route.model_validate(doc["route"])


def clocks_of(doc: Mapping[str, Any]) -> dict[str, Clock]:
    """The clocks stored on a case, by name."""
    return {e["name"]: Clock.model_validate(e["clock"]) for e in doc.get("clocks", [])}


def facts_of(doc: Mapping[str, Any], *, step: Step | None = None) -> CaseFacts:
    """What decides a case's complexity: category, amount, and a contest or refusal on record."""
    amount = doc.get("amount")
    return CaseFacts(category=doc.get("category"), amount=Money.model_validate(amount) if amount else None,
                     contested=bool(doc.get("refusal_record")) or (step is not None and _refusal(step)))


def clock_entries(*, clocks: Mapping[str, Clock], previous: Sequence[Mapping[str, Any]]) -> list[dict]:
    """Clocks as stored, keeping warned/breached marks unless the clock was restarted."""
    old = {e["name"]: e for e in previous}
    out = []
    for name, clock in clocks.items():
        data = clock.model_dump(mode="json")
        before = old.get(name, {})
        same = before.get("clock", {}).get("started_at") == data["started_at"]
        out.append({"name": name, "clock": data, "warned": bool(same and before.get("warned")),
                    "breached": bool(same and before.get("breached"))})
    return out


def save_step(
    tx: UnitOfWork, *, doc: Mapping[str, Any], step: Step, rules: Rules, topic: str, actor_id: str = "",
    before: Sequence[Event] = (), after: Sequence[Event] = (), fields: Mapping[str, Any] | None = None,
    note: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Apply a step to the case: clocks and timers follow, events go to the outbox; returns the case."""
    route, status, now = route_of(doc), step.status, step.at
    changes = clock_changes(step=step, route=route, policy=rules.policy)
    if step.from_tier is Tier.AUTOMATIC and any(e["name"] == AUTOMATIC_WINDOW for e in doc.get("clocks", [])):
        # The automatic tier made its offer or handed on: its window has done its work.
        changes = changes.model_copy(update={"stop": (*changes.stop, AUTOMATIC_WINDOW)})
    clocks = apply_clock_changes(clocks=clocks_of(doc), changes=changes, at=now, policy=rules.policy,
                                 paid_at=doc.get("paid_at"), discovered_at=doc.get("discovered_at"),
                                 channel=doc.get("channel"), calendar=rules.calendar,
                                 complex_case=facts_of(doc, step=step).is_complex(policy=rules.policy))
    new = {
        "status": status.model_dump(mode="json"), "state": status.state.value,
        "tier": status.tier.value, "clocks": clock_entries(clocks=clocks, previous=doc.get("clocks", [])),
        "updated_at": now, "resolved_at": status.resolved_at,
        "outcome": status.outcome.outcome.value if status.outcome else None,
        "refusal_record": doc.get("refusal_record", False) or _refusal(step),
        "closed_ticket": doc.get("closed_ticket", False) or step.to_state is State.CLOSED,
        **(fields or {}),
    }
    entry = {"at": now, "actor": step.actor.value, "actor_id": actor_id, "action": step.action.value,
             "from_state": step.from_state.value, "to_state": step.to_state.value,
             "from_tier": step.from_tier.value, "to_tier": step.to_tier.value, "reason": step.reason,
             **(note or {})}  # note: what else the timeline should show (an override, a filing's flag)
    cases.update_case(tx, doc=doc, fields=new, history=entry)
    timers.sync_timers(tx, complaint_id=doc["_id"], ticket=doc["ticket"], clocks=clocks, previous=clocks_of(doc))
    emit(tx, topic=topic, messages=[*before, *step_events(doc=doc, step=step, actor_id=actor_id), *after])
    return {**doc, **new, "history": [*doc.get("history", []), entry], "version": doc["version"] + 1}


def step_events(*, doc: Mapping[str, Any], step: Step, actor_id: str) -> list[Event]:
    """The events a step publishes: the status change always, then what else it means."""
    ids = {"complaint_id": doc["_id"], "ticket": doc["ticket"]}
    reason = step.action.value + (f": {step.reason}" if step.reason else "")
    events: list[Event] = [ComplaintStatusChanged(
        **ids, from_state=step.from_state, to_state=step.to_state, tier=step.to_tier, reason=reason,
        actor_role=step.actor.value, action=step.action.value, actor_id=actor_id)]
    if step.from_tier is not step.to_tier:
        events.append(ComplaintEscalated(**ids, from_tier=step.from_tier, to_tier=step.to_tier,
                                         reason=step.reason or step.action.value))
    offer = step.status.offer
    if step.to_state is State.RESOLUTION_PROPOSED and offer is not None \
            and step.from_state is not State.RESOLUTION_PROPOSED:
        events.append(ResolutionProposed(**ids, outcome=offer.outcome,
                                         detail=offer.model_dump(mode="json", exclude_none=True),
                                         refund=offer.refund, compensation=offer.compensation,
                                         compensation_basis=offer.compensation_basis or "",
                                         automatic=step.actor is Party.SYSTEM,
                                         missing_evidence_overridden=list(step.overridden_evidence)))
    if step.action is Action.ACCEPT_RESOLUTION and step.status.outcome is not None:
        events.append(ResolutionAccepted(**ids, outcome=step.status.outcome.outcome))
    if step.action is Action.REJECT_RESOLUTION:
        events.append(ResolutionRejected(**ids, reason=step.reason))
    return events


def _refusal(step: Step) -> bool:
    """A merchant contest or a rejecting outcome proves internal handling refused the complaint."""
    s = step.status
    contested = step.action is Action.MERCHANT_RESPONSE and step.to_state is not State.RESOLUTION_PROPOSED
    rejected = any(r is not None and r.outcome is Outcome.REJECTED for r in (s.offer, s.outcome))
    return contested or rejected

