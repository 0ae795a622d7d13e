"""Durable timers: claim what is due with a lease, fire each once with its case change and events."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry import propagate
from pymongo import ReturnDocument

from services.escalation.domain.actions import Action, ActionInvalid, IllegalTransition
from services.escalation.domain.breaches import plan_breach
from services.escalation.domain.terms import Party
from services.escalation.domain.transitions import perform
from services.escalation.models import Case, Timer
from services.escalation.service.rules import Rules
from services.escalation.service.steps import clocks_of, route_of, save_step, status_of, write_case
from services.escalation.service.timer_docs import generation, same_instant
from shared.contracts.escalation import SlaBreached, SlaWarning
from shared.envelope import Event, new_id, utcnow
from shared.outbox import emit
from shared.store import Tx, database, transaction


def _timers() -> Any:
    return database()[Timer._get_collection_name()]


def claim_one(*, owner: str, lease_s: float, now: datetime | None = None) -> dict[str, Any] | None:
    """Claim the earliest due timer (or one whose owner's lease ran out); None when nothing is due."""
    now = now or utcnow()
    lease = {"$set": {"state": "firing", "owner": owner, "lease_token": new_id(),
                      "lease_until": now + timedelta(seconds=lease_s)}}
    for due, order in (({"state": "scheduled", "due_at": {"$lte": now}}, "due_at"),
                       ({"state": "firing", "lease_until": {"$lte": now}}, "lease_until")):
        doc = _timers().find_one_and_update(due, lease, sort=[(order, 1)],
                                            return_document=ReturnDocument.AFTER)
        if doc is not None:
            return doc
    return None


def next_due() -> datetime | None:
    """When the earliest scheduled timer is due, or None."""
    doc = _timers().find_one({"state": "scheduled"}, {"due_at": 1}, sort=[("due_at", 1)])
    return doc["due_at"] if doc else None


def fire(*, timer: dict[str, Any], owner: str, rules: Rules, topic: str) -> bool:
    """Fire a claimed timer in one transaction with its case change; False when stale or lost."""
    token = otel_context.attach(propagate.extract(timer.get("trace") or {}))
    try:
        return transaction(lambda tx: _fire(tx, timer=timer, owner=owner, rules=rules, topic=topic))
    finally:
        otel_context.detach(token)


def _fire(tx: Tx, *, timer: dict[str, Any], owner: str, rules: Rules, topic: str) -> bool:
    mine = {"_id": timer["_id"], "state": "firing", "lease_token": timer["lease_token"]}
    if tx.collection(Timer).find_one(mine, {"_id": 1}, session=tx.session) is None:
        return False  # another instance took it over after our lease ran out
    doc = tx.collection(Case).find_one({"_id": timer["complaint_id"]}, session=tx.session)
    clock = clocks_of(doc).get(timer["clock"]) if doc else None
    wanted = dict(clock.timers()) if clock else {}
    kind, now = timer["kind"], utcnow()
    live = (kind in wanted and same_instant(wanted[kind], timer["due_at"])
            and generation(clock=clock) == timer.get("generation"))
    tx.collection(Timer).update_one(mine, {"$set": {
        "state": "fired" if live else "cancelled", "fired_at": now, "fired_by": owner}},
        session=tx.session)
    if not live:
        return False
    ids = {"complaint_id": doc["_id"], "ticket": doc["ticket"]}
    entries = [dict(e) for e in doc["clocks"]]
    mark = next(e for e in entries if e["name"] == clock.name)
    if kind == "warning":
        mark["warned"] = True
        write_case(tx, doc=doc, fields={"clocks": entries, "updated_at": now},
                   history={"at": now, "actor": "system", "action": "sla_warning", "reason": clock.name})
        emit(tx, topic=topic, messages=[SlaWarning(**ids, clock=clock.name, due_at=clock.due_at)])
        return True
    mark["breached"] = True
    breached = sorted({*doc.get("breached_clocks", []), clock.name})
    fields = {"clocks": entries, "breached_clocks": breached,
              "breach_count": doc.get("breach_count", 0) + 1, "updated_at": now}
    status = status_of(doc)
    plan = plan_breach(clock=clock, status=status, route=route_of(doc), policy=rules.policy,
                       refusal_record=doc.get("refusal_record", False),
                       closed_ticket=doc.get("closed_ticket", False), breached_clocks=frozenset(breached))
    step = None
    if plan.escalate_to is not None:
        try:
            step = perform(status=status, action=Action.ESCALATE, actor=Party.SYSTEM, at=now,
                           target=plan.escalate_to, reason=plan.reason)
        except (IllegalTransition, ActionInvalid):
            step = None
    event: Event = SlaBreached(**ids, clock=clock.name, due_at=clock.due_at,
                               escalated_to=step.to_tier.value if step else "",
                               blocked=list(plan.blocked.missing) if plan.blocked else [])
    if step is None:
        write_case(tx, doc=doc, fields=fields,
                   history={"at": now, "actor": "system", "action": "sla_breach", "reason": plan.reason})
        emit(tx, topic=topic, messages=[event])
        return True
    save_step(tx, doc={**doc, "clocks": entries, "breached_clocks": breached}, step=step, rules=rules,
              topic=topic, before=[event], fields={k: v for k, v in fields.items() if k != "clocks"})
    return True


def fire_due(*, owner: str, lease_s: float, limit: int, rules: Rules, topic: str) -> int:
    """Claim and fire up to limit due timers; returns how many were claimed."""
    claimed = 0
    for _ in range(limit):
        timer = claim_one(owner=owner, lease_s=lease_s)
        if timer is None:
            break
        claimed += 1
        fire(timer=timer, owner=owner, rules=rules, topic=topic)
    return claimed
