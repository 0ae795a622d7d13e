"""Durable timers: claim what is due with a lease, fire each once with its case change and events."""

from __future__ import annotations

import contextlib
from datetime import datetime, timedelta
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry import propagate

from services.escalation.domain.actions import Action, ActionInvalid, IllegalTransition
from services.escalation.domain.breaches import plan_breach
from services.escalation.domain.terms import Party
from services.escalation.domain.transitions import perform
from services.escalation.models import Case, Timer
from services.escalation.service.rules import Rules
from services.escalation.service.steps import CaseChanged, clocks_of, route_of, save_step, status_of, write_case
from services.escalation.service.timer_docs import FLOOR_ID, FLOORS, generation, same_instant
from shared.contracts.escalation import SlaBreached, SlaWarning
from shared.envelope import Event, new_id, utcnow
from shared.outbox import emit
from shared.store import UnitOfWork, database


def _timers() -> Any:
    return database()[Timer._get_collection_name()]


def _floors() -> Any:
    return database()[FLOORS]


def claim_one(*, owner: str, lease_s: float, now: datetime | None = None) -> dict[str, Any] | None:
    """Claim the earliest due timer (or one whose owner's lease ran out); None when nothing is due."""
    claimed = claim_due(owner=owner, lease_s=lease_s, limit=1, now=now)
    return claimed[0] if claimed else None


class DueScan:
    """How wide a slice of due times one claim query covers; it adapts so no query matches a flood."""

    def __init__(self, *, slice_s: float = 1.0) -> None:
        self.slice_s = slice_s

    def widen(self) -> None:
        """The last slice held less than a batch: look further next time."""
        self.slice_s = min(self.slice_s * 2, 3600.0)

    def narrow(self) -> None:
        """The last slice held a full batch: look nearer next time."""
        self.slice_s = max(self.slice_s / 2, 0.05)


def claim_due(*, owner: str, lease_s: float, limit: int, now: datetime | None = None,
              scan: DueScan | None = None) -> list[dict[str, Any]]:
    """Claim up to limit due timers, oldest first: expired leases, then slices from the due floor."""
    now, scan = now or utcnow(), scan or DueScan()
    token = new_id()
    lease = {"$set": {"state": "firing", "owner": owner, "lease_token": token,
                      "lease_until": now + timedelta(seconds=lease_s)}}
    # The timers being fired are few: found by state alone (the index), the lapsed leases among them here.
    firing = sorted((d for d in _timers().find({"state": "firing"}, {"lease_until": 1})
                     if d.get("lease_until") is not None and d["lease_until"] <= now),
                    key=lambda d: d["lease_until"])
    claimed = _claim_ids([d["_id"] for d in firing[:limit]], {"state": "firing", "lease_until": {"$lte": now}},
                         lease, token)
    floor_doc = _floors().find_one({"_id": FLOOR_ID})
    floor = floor_doc["due_at"] if floor_doc else None
    while floor is not None and floor <= now and len(claimed) < limit:
        hi = min(now, floor + timedelta(seconds=scan.slice_s))
        want = limit - len(claimed)
        got, found = _claim({"state": "scheduled", "due_at": {"$gte": floor, "$lte": hi}}, "due_at",
                            want, lease, token)
        claimed += got
        if found >= want:
            scan.narrow()
            break
        # Nothing scheduled is left up to hi: move the shared floor on, unless a new overdue timer
        # lowered it meanwhile (then the compare-and-set fails and the next round starts lower).
        scan.widen()
        if _floors().update_one({"_id": FLOOR_ID, "due_at": floor}, {"$set": {"due_at": hi}}).modified_count != 1:
            break
        if hi >= now:
            break
        floor = hi
    return sorted(claimed, key=lambda d: d["due_at"])


def rewind_floor(*, back_s: float, now: datetime | None = None) -> None:
    """Move the due floor back a little, so a timer scheduled while the floor moved is not missed."""
    at = (now or utcnow()) - timedelta(seconds=back_s)
    _floors().update_one({"_id": FLOOR_ID}, {"$min": {"due_at": at}})


def _claim(due: dict[str, Any], order: str, limit: int, lease: dict[str, Any],
           token: str) -> tuple[list[dict[str, Any]], int]:
    """Claim up to limit timers matching due; returns them and how many candidates there were."""
    ids = [d["_id"] for d in _timers().find(due, {"_id": 1}).sort(order, 1).limit(limit)]
    return _claim_ids(ids, due, lease, token), len(ids)


def _claim_ids(ids: list[str], due: dict[str, Any], lease: dict[str, Any], token: str) -> list[dict[str, Any]]:
    """Claim the timers of those ids that still match due; returns the ones claimed."""
    if not ids:
        return []
    # The conditional update is the claim: a timer another instance took meanwhile no longer
    # matches, and firing re-checks the token inside the transaction. One update per timer, never
    # update_many: a timer whose lease ran out may carry the uncommitted change of an instance
    # SIGKILLed mid-fire. The embedded store retries a multi-document update's conflict with it
    # forever while holding the collection lock (every write of every service then hangs); a
    # single-document update waits for the dead transaction to be reaped without holding it.
    for timer_id in ids:
        _timers().update_one({"_id": timer_id, **due}, lease)
    return [d for d in _timers().find({"_id": {"$in": ids}}) if d.get("lease_token") == token]


def next_due(*, within_s: float, now: datetime | None = None) -> datetime | None:
    """When the earliest timer due in the next within_s seconds is due, or None."""
    now = now or utcnow()
    # A bounded range keeps the query to what is imminent, however many timers wait further out.
    window = {"state": "scheduled", "due_at": {"$gt": now, "$lte": now + timedelta(seconds=within_s)}}
    doc = _timers().find_one(window, {"due_at": 1}, sort=[("due_at", 1)])
    return doc["due_at"] if doc else None


def fire(uow: UnitOfWork, *, timer: dict[str, Any], owner: str, rules: Rules, topic: str) -> bool:
    """Fire a claimed timer in one transaction with its case change; False when stale or lost."""
    return fire_many(uow, timers=[timer], owner=owner, rules=rules, topic=topic) == 1


def fire_many(uow: UnitOfWork, *, timers: list[dict[str, Any]], owner: str, rules: Rules, topic: str) -> int:
    """Fire claimed timers in one transaction (the store's commit is the cost); returns how many fired."""
    return uow.transaction(lambda tx: sum(_fire_traced(tx, timer=t, owner=owner, rules=rules, topic=topic)
                                      for t in timers))


def _fire_traced(tx: UnitOfWork, *, timer: dict[str, Any], owner: str, rules: Rules, topic: str) -> bool:
    # The events join the trace of the complaint that started the clock.
    token = otel_context.attach(propagate.extract(timer.get("trace") or {}))
    try:
        return _fire(tx, timer=timer, owner=owner, rules=rules, topic=topic)
    finally:
        otel_context.detach(token)


def _fire(tx: UnitOfWork, *, timer: dict[str, Any], owner: str, rules: Rules, topic: str) -> bool:
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
    fields = {"clocks": entries, "breached_clocks": breached, "updated_at": now}
    if clock.owner != Party.COMPLAINANT:
        # The merchant's record (repeat-offender routing, hot merchants) counts only clocks the
        # handling side let run out; a window the buyer let lapse is not the merchant's miss.
        fields["breach_count"] = doc.get("breach_count", 0) + 1
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


def fire_due(uow: UnitOfWork, *, owner: str, lease_s: float, limit: int, group: int, rules: Rules, topic: str,
             scan: DueScan | None = None) -> int:
    """Claim up to limit due timers and fire them group by group; returns how many were claimed."""
    claimed = claim_due(owner=owner, lease_s=lease_s, limit=limit, scan=scan)
    for start in range(0, len(claimed), group):
        chunk = claimed[start:start + group]
        try:
            fire_many(uow, timers=chunk, owner=owner, rules=rules, topic=topic)
        except CaseChanged:
            # One case moved under the group: fire its members alone so the others are not held up.
            for timer in chunk:
                with contextlib.suppress(CaseChanged):
                    fire(uow, timer=timer, owner=owner, rules=rules, topic=topic)
    return len(claimed)
