"""Durable timers: fire claimed timers once each, many per transaction, with their case changes and events."""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Callable
from datetime import datetime
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry import propagate

from services.escalation.domain.actions import Action, ActionInvalid, IllegalTransition
from services.escalation.domain.breaches import plan_breach
from services.escalation.domain.clocks import Clock, ClockStatus
from services.escalation.domain.policy_schema import ClockOwner
from services.escalation.domain.terms import Party
from services.escalation.domain.transitions import perform
from services.escalation.repository import cases, claims
from services.escalation.repository.cases import CaseChanged
from services.escalation.repository.timers import mark_all_fired, matches_clock, still_claimed, syncs_together
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
    """Fire a claimed timer in a transaction of its own with its case change; False when stale or lost."""
    return uow.transaction(lambda tx: _fire_group(tx, timers=[timer], owner=owner, rules=rules, topic=topic,
                                                  on_fired=on_fired)) == 1


def fire_many(uow: UnitOfWork, *, timers: list[dict[str, Any]], owner: str, rules: Rules, topic: str,
              on_fired: OnFired | None = None) -> int:
    """Fire claimed timers of distinct cases in one transaction; returns how many fired.

    Their leases and cases are read in one query each and the timers marked in one request; each
    case change is written under its version check, and the events go out as one outbox entry."""
    with claims.group_transaction(sink=uow.sink) as group:
        return _fire_group(group, timers=timers, owner=owner, rules=rules, topic=topic, on_fired=on_fired)


def _fire_group(tx: UnitOfWork, *, timers: list[dict[str, Any]], owner: str, rules: Rules, topic: str,
                on_fired: OnFired | None = None) -> int:
    held = still_claimed(tx, timers=timers)  # the others were taken over after our lease ran out
    mine = [t for t in timers if t["_id"] in held]
    docs = cases.get_cases(tx, complaint_ids=[t["complaint_id"] for t in mine])
    now = utcnow()
    live = []
    for timer in mine:
        doc = docs.get(timer["complaint_id"])
        clock = clocks_of(doc).get(timer["clock"]) if doc else None
        live.append((timer, doc, clock, matches_clock(timer=timer, clock=clock)))
    mark_all_fired(tx, outcomes=[(t, ok) for t, _, _, ok in live], owner=owner, at=now)
    fired = 0
    # A group's cases are distinct, and nothing reads their documents or timers back in it. Its
    # events go out as one outbox entry (the group is atomic: shared.outbox), each with its own trace.
    with syncs_together(tx), cases.updates_together(tx):
        for timer, doc, clock, ok in live:
            if not ok:
                continue
            # The events join the trace of the complaint that started the clock.
            token = otel_context.attach(propagate.extract(timer.get("trace") or {}))
            try:
                _fire(tx, timer=timer, doc=doc, clock=clock, rules=rules, topic=topic, now=now)  # type: ignore[arg-type]
            finally:
                otel_context.detach(token)
            if on_fired is not None:
                tx.after_commit.append(functools.partial(on_fired, timer, now))
            fired += 1
    return fired


def _fire(tx: UnitOfWork, *, timer: dict[str, Any], doc: dict[str, Any], clock: Clock, rules: Rules, topic: str,
          now: datetime) -> None:
    kind = timer["kind"]
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
        return
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
        return
    save_step(tx, doc={**doc, "clocks": entries, "breached_clocks": breached}, step=step, rules=rules,
              topic=topic, before=[event], fields={k: v for k, v in fields.items() if k != "clocks"})


def _audience(rules: Rules, *, clock: str, kind: str) -> list[str]:
    """Who hears of this warning or breach, from the policy's notify lists for the clock."""
    spec = rules.policy.clocks.get(clock)
    return [r.value for r in spec.audience(kind=kind)] if spec is not None else ["agent"]


def fire_due(uow: UnitOfWork, *, owner: str, lease_s: float, limit: int, group: int, rules: Rules, topic: str,
             scan: claims.DueScan | None = None, on_fired: OnFired | None = None) -> int:
    """Claim up to limit due timers and fire them group by group; returns how many were claimed.
    `on_fired` hears of each one that fired, once its transaction committed."""
    claimed = claims.claim_due(owner=owner, lease_s=lease_s, limit=limit, scan=scan)
    held: set[str] = set()  # cases with a timer left to its lease: their later timers wait too
    for chunk in groups_of(claimed, size=group):
        chunk = [t for t in chunk if t["complaint_id"] not in held]
        if not chunk:
            continue
        try:
            fire_many(uow, timers=chunk, owner=owner, rules=rules, topic=topic, on_fired=on_fired)
        except CaseChanged:
            # A case moved under the group: fire its members alone, each retried on its own
            # conflicts, so the others are not held up; what the group did was undone.
            for timer in chunk:
                if not _fire_retried(uow, timer=timer, owner=owner, rules=rules, topic=topic, on_fired=on_fired):
                    # Still changing: the timer is fired again once its lease lapses, and the case's
                    # later timers (its breach after its warning) wait with it, so the order holds.
                    held.add(timer["complaint_id"])
    return len(claimed)


def _fire_retried(uow: UnitOfWork, *, timer: dict[str, Any], owner: str, rules: Rules, topic: str,
                  on_fired: OnFired | None, attempts: int = 3) -> bool:
    """Fire one timer, reading its case again after each change made under it; False when it kept changing."""
    for _ in range(attempts):
        with contextlib.suppress(CaseChanged):
            fire(uow, timer=timer, owner=owner, rules=rules, topic=topic, on_fired=on_fired)
            return True
    return False


def groups_of(timers: list[dict[str, Any]], *, size: int) -> list[list[dict[str, Any]]]:
    """Timers in groups of at most size, no case twice in a group (each reads its case once), in due order."""
    groups: list[list[dict[str, Any]]] = []
    open_: list[tuple[list[dict[str, Any]], set[str]]] = []
    for timer in timers:
        home = next((g for g in open_ if timer["complaint_id"] not in g[1]), None)
        if home is None:
            home = ([], set())
            open_.append(home)
            groups.append(home[0])
        home[0].append(timer)
        home[1].add(timer["complaint_id"])
        if len(home[0]) >= size:
            open_.remove(home)
    return groups
