"""Durable timers: fire each claimed timer once, with its case change and events, in one transaction."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from datetime import datetime
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry import propagate

from services.escalation.domain.actions import Action, ActionInvalid, IllegalTransition
from services.escalation.domain.breaches import plan_breach
from services.escalation.domain.clocks import ClockStatus
from services.escalation.domain.policy_schema import ClockOwner
from services.escalation.domain.terms import Party
from services.escalation.domain.transitions import perform
from services.escalation.repository import cases, claims
from services.escalation.repository.cases import CaseChanged
from services.escalation.repository.timers import is_claimed, mark_fired, matches_clock
from services.escalation.service.rules import Rules
from services.escalation.service.steps import clocks_of, route_of, save_step, status_of
from shared.contracts.escalation import SlaBreached, SlaWarning
from shared.envelope import Event, utcnow
from shared.outbox import emit
from shared.store import UnitOfWork

#: Told of each timer that fired, once its transaction committed: the timer and when it fired.
OnFired = Callable[[dict[str, Any], datetime], None]


def fire(uow: UnitOfWork, *, timer: dict[str, Any], owner: str, rules: Rules, topic: str,
         on_fired: OnFired | None = None) -> bool:
    """Fire a claimed timer in one transaction with its case change; False when stale or lost."""
    return fire_many(uow, timers=[timer], owner=owner, rules=rules, topic=topic, on_fired=on_fired) == 1


def fire_many(uow: UnitOfWork, *, timers: list[dict[str, Any]], owner: str, rules: Rules, topic: str,
              on_fired: OnFired | None = None) -> int:
    """Fire claimed timers in one transaction (one commit for the group); returns how many fired."""
    return uow.transaction(lambda tx: sum(_fire_traced(tx, timer=t, owner=owner, rules=rules, topic=topic,
                                                       on_fired=on_fired) for t in timers))


def _fire_traced(tx: UnitOfWork, *, timer: dict[str, Any], owner: str, rules: Rules, topic: str,
                 on_fired: OnFired | None) -> bool:
    # The events join the trace of the complaint that started the clock.
    token = otel_context.attach(propagate.extract(timer.get("trace") or {}))
    try:
        fired = _fire(tx, timer=timer, owner=owner, rules=rules, topic=topic)
    finally:
        otel_context.detach(token)
    if fired and on_fired is not None:
        at = utcnow()
        tx.after_commit.append(lambda: on_fired(timer, at))
    return fired


def _fire(tx: UnitOfWork, *, timer: dict[str, Any], owner: str, rules: Rules, topic: str) -> bool:
    if not is_claimed(tx, timer=timer):
        return False  # another instance took it over after our lease ran out
    doc = cases.get_case(tx, complaint_id=timer["complaint_id"])
    clock = clocks_of(doc).get(timer["clock"]) if doc else None
    kind, now = timer["kind"], utcnow()
    live = matches_clock(timer=timer, clock=clock)
    mark_fired(tx, timer=timer, live=live, owner=owner, at=now)
    if not live:
        return False
    assert doc is not None and clock is not None  # a live timer's clock, so its case, exists
    ids = {"complaint_id": doc["_id"], "ticket": doc["ticket"]}
    entries = [dict(e) for e in doc["clocks"]]
    mark = next(e for e in entries if e["name"] == clock.name)
    said = {"owner": clock.owner.value, "audience": _audience(rules, clock=clock.name, kind=kind)}
    if kind in {"warning", "day_before"}:
        stage = "share" if kind == "warning" else "day_before"
        mark["warned"] = True
        cases.update_case(tx, doc=doc, fields={"clocks": entries, "updated_at": now},
                          history={"at": now, "actor": "system", "action": "sla_warning",
                                   "reason": clock.name if stage == "share" else f"{clock.name}: a day left"})
        emit(tx, topic=topic, messages=[SlaWarning(**ids, clock=clock.name, due_at=clock.due_at, stage=stage,
                                                   **said)])
        return True
    mark["breached"] = True
    breached = sorted({*doc.get("breached_clocks", []), clock.name})
    fields: dict[str, Any] = {"clocks": entries, "breached_clocks": breached, "updated_at": now}
    if clock.owner is ClockOwner.COMPLAINANT:
        # The buyer's own window lapsed: recorded as theirs (lapsed_windows), never in the merchant's
        # record, never proof that internal handling failed (plan_breach), never an escalation.
        fields["lapsed_windows"] = sorted({*doc.get("lapsed_windows", []), clock.name})
    if clock.owner is ClockOwner.MERCHANT:
        # The merchant's record (repeat-offender routing, hot merchants) counts only the clocks the
        # merchant's side let run out: not the buyer's windows, not the platform's or channel's.
        fields["breach_count"] = doc.get("breach_count", 0) + 1
    status = status_of(doc)
    windows = {n: c.status(at=now) for n, c in clocks_of(doc).items() if c.owner is ClockOwner.COMPLAINANT}
    plan = plan_breach(clock=clock, status=status, route=route_of(doc), policy=rules.policy,
                       refusal_record=doc.get("refusal_record", False),
                       closed_ticket=doc.get("closed_ticket", False), breached_clocks=frozenset(breached),
                       lapsed_windows=frozenset(n for n, st in windows.items() if st is ClockStatus.BREACHED),
                       open_windows=frozenset(n for n, st in windows.items()
                                              if st not in {ClockStatus.BREACHED, ClockStatus.STOPPED}))
    step = None
    if plan.escalate_to is not None:
        try:
            step = perform(status=status, action=Action.ESCALATE, actor=Party.SYSTEM, at=now,
                           target=plan.escalate_to, reason=plan.reason)
        except (IllegalTransition, ActionInvalid):
            step = None
    event: Event = SlaBreached(**ids, clock=clock.name, due_at=clock.due_at,
                               escalated_to=step.to_tier.value if step else "",
                               blocked=list(plan.blocked.missing) if plan.blocked else [], **said)
    if step is None:
        reason = plan.reason + (": the complainant's own window" if clock.owner is ClockOwner.COMPLAINANT else "")
        cases.update_case(tx, doc=doc, fields=fields,
                          history={"at": now, "actor": "system", "action": "sla_breach", "reason": reason})
        emit(tx, topic=topic, messages=[event])
        return True
    save_step(tx, doc={**doc, "clocks": entries, "breached_clocks": breached}, step=step, rules=rules,
              topic=topic, before=[event], fields={k: v for k, v in fields.items() if k != "clocks"})
    return True


def _audience(rules: Rules, *, clock: str, kind: str) -> list[str]:
    """Who hears of this warning or breach, from the policy's notify lists for the clock."""
    spec = rules.policy.clocks.get(clock)
    return [r.value for r in spec.audience(kind=kind)] if spec is not None else ["agent"]


def fire_due(uow: UnitOfWork, *, owner: str, lease_s: float, limit: int, group: int, rules: Rules, topic: str,
             scan: claims.DueScan | None = None, on_fired: OnFired | None = None) -> int:
    """Claim up to limit due timers and fire them group by group; returns how many were claimed.
    `on_fired` hears of each one that fired, once its transaction committed."""
    claimed = claims.claim_due(owner=owner, lease_s=lease_s, limit=limit, scan=scan)
    for start in range(0, len(claimed), group):
        chunk = claimed[start:start + group]
        try:
            fire_many(uow, timers=chunk, owner=owner, rules=rules, topic=topic, on_fired=on_fired)
        except CaseChanged:
            # One case moved under the group: fire its members alone so the others are not held up.
            for timer in chunk:
                with contextlib.suppress(CaseChanged):
                    fire(uow, timer=timer, owner=owner, rules=rules, topic=topic, on_fired=on_fired)
    return len(claimed)
