"""Clocks that end together: a burst of timers due at one instant fires once each across two instances,
with each case's change, its new clocks' timers and its events once."""

from __future__ import annotations

from collections import Counter
from contextlib import ExitStack
from datetime import datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pymongo import MongoClient

from services.escalation.config import EscalationSettings
from services.escalation.domain.routing import MerchantHistory
from services.escalation.main import create_app
from services.escalation.models import Case, Timer
from services.escalation.repository import cases, claims
from services.escalation.repository.timers import FLOOR_ID, FLOORS, new_timers
from services.escalation.service import firing
from services.escalation.service.opening import build_case
from services.escalation.service.rules import load_rules
from shared import store
from shared.contracts.vocabulary import Category
from shared.envelope import utcnow
from shared.outbox import OutboxEntry
from shared.store import UnitOfWork
from tests.support.escalation_cases import filed, read_all, settings_for
from tests.support.servers import Servers, own_database
from tests.support.suite import create_topics
from tests.support.waiting import wait_until

pytestmark = pytest.mark.integration

BURST = 300
WARN_AFTER, BREACH_AFTER = timedelta(hours=24 * 0.8), timedelta(hours=24)  # the default first-response clock
SLA = {"SlaWarning", "SlaBreached"}


def due_case(*, rules: Any, at: datetime, breach: bool) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """A not-delivered case opened so that its first-response warning (or, warned already, breach) is due at at."""
    opened = at - (BREACH_AFTER if breach else WARN_AFTER)
    event = filed(category="not-delivered")
    event = event.model_copy(update={"filed_at": opened,
                                     "order": event.order.model_copy(update={"paid_at": opened})})
    case, clocks, _ = build_case(event=event, rules=rules, category=Category.NOT_DELIVERED,
                                 history=MerchantHistory())
    doc = case.to_mongo().to_dict()
    timers = new_timers(complaint_id=case.id, ticket=case.ticket, clocks=clocks)
    if breach:
        for entry in doc["clocks"]:
            entry["warned"] = entry["warned"] or entry["name"] == "first_response"
        for t in timers:
            if (t["clock"], t["kind"]) == ("first_response", "warning"):
                t.update(state="fired", fired_at=t["due_at"], fired_by="earlier")
    return doc, timers


def test_a_burst_due_at_one_instant_fires_each_timer_once_across_two_instances_none_early(
        service_env: dict[str, str]) -> None:
    topics = create_topics(env=service_env)
    # Claims smaller than the burst, so both instances take their share of it.
    settings = [settings_for(env=service_env).model_copy(update={
        "timer_batch_size": 40, "timer_group_size": 20, "instance_id": f"burst-{n}"}) for n in range(2)]
    db = MongoClient(service_env["MONGODB_URI"], tz_aware=True)[service_env["ESCALATION_MONGODB_DB"]]
    with ExitStack() as running:
        for one in settings:
            client = running.enter_context(TestClient(create_app(one)))
            wait_until(lambda c=client: c.get("/readyz").status_code == 200, timeout=60, what="escalation ready")
        due = utcnow() + timedelta(seconds=3)
        rules = load_rules(settings=EscalationSettings())
        built = [due_case(rules=rules, at=due, breach=n % 2 == 1) for n in range(BURST)]
        db.cases.insert_many([doc for doc, _ in built])
        db.timers.insert_many([t for _, timers in built for t in timers])
        db[FLOORS].update_one({"_id": FLOOR_ID}, {"$min": {"due_at": due}}, upsert=True)
        ids = {doc["_id"] for doc, _ in built}
        wanted = {"clock": "first_response", "complaint_id": {"$in": list(ids)}, "fired_by": {"$ne": "earlier"}}

        def all_fired() -> list[dict[str, Any]] | None:
            rows = list(db.timers.find({**wanted, "state": "fired"}))
            return rows if len(rows) == BURST else None

        fired = wait_until(all_fired, timeout=120, interval=0.5, what=f"{BURST} timers due at once to fire")

        def published() -> Counter | None:
            counts = Counter((m["type"], m["complaint_id"])
                             for m in read_all(bootstrap=service_env["KAFKA_BOOTSTRAP_SERVERS"],
                                               topic=topics.escalation_events)
                             if m.get("complaint_id") in ids)
            # A warning publishes one event; a breach three (it moves the case to the platform).
            return counts if sum(1 for kind, _ in counts if kind in SLA) == BURST \
                and sum(1 for kind, _ in counts if kind == "ComplaintEscalated") == BURST // 2 else None

        published_all = wait_until(published, timeout=60, interval=0.5, what="every warning and breach published")
    assert all(t["fired_at"] >= t["due_at"] for t in fired), "a timer fired before it was due"
    kinds = {t["complaint_id"]: t["kind"] for t in fired}
    assert sorted(Counter(kinds.values()).items()) == [("breach", BURST // 2), ("warning", BURST // 2)]
    assert set(published_all.values()) == {1}, [k for k, n in published_all.items() if n > 1]
    events = {(kind, cid) for kind, cid in published_all if kind in SLA}
    assert {cid for (_, cid) in events} == ids
    assert all(kind == ("SlaBreached" if kinds[cid] == "breach" else "SlaWarning") for kind, cid in events)
    breached = {cid for cid, kind in kinds.items() if kind == "breach"}
    assert {(kind, cid) for kind, cid in published_all if kind not in SLA} == {
        (kind, cid) for cid in breached for kind in ("ComplaintStatusChanged", "ComplaintEscalated")}
    # Each escalated case is at the platform with the platform's decision clock running: its
    # timers were written with the rest of its group, due after the breach.
    assert {d["_id"] for d in db.cases.find({"_id": {"$in": list(breached)}, "tier": "platform"}, {"_id": 1})} \
        == breached
    decisions = {t["complaint_id"]: t for t in db.timers.find(
        {"complaint_id": {"$in": list(breached)}, "clock": "platform_decision", "kind": "breach"})}
    assert set(decisions) == breached
    assert all(t["state"] == "scheduled" and t["due_at"] > due for t in decisions.values())
    # Each case took its warning or breach once into its timeline.
    marks = {d["_id"]: d["n"] for d in db.cases.aggregate([
        {"$match": {"_id": {"$in": list(ids)}}}, {"$unwind": "$history"},
        {"$match": {"history.action": {"$in": ["sla_warning", "sla_breach", "escalate"]}}},
        {"$group": {"_id": "$_id", "n": {"$sum": 1}}}])}
    assert set(marks) == ids and set(marks.values()) == {1}, Counter(marks.values())
    shares = Counter(t["fired_by"] for t in fired)
    assert set(shares) == {"burst-0", "burst-1"} and min(shares.values()) >= BURST // 5, shares


def test_a_group_undone_by_a_change_to_one_of_its_cases_fires_each_timer_alone_and_emits_each_event_once(
        servers: Servers, namespace: str, monkeypatch: pytest.MonkeyPatch) -> None:
    with own_database(servers, f"{namespace}_timer_group_undone", Case, Timer, OutboxEntry):
        db = store.database()
        due = utcnow() - timedelta(seconds=1)
        built = [due_case(rules=load_rules(settings=EscalationSettings()), at=due, breach=n % 2 == 1) for n in range(6)]
        db.cases.insert_many([doc for doc, _ in built])
        db.timers.insert_many([t for _, timers in built for t in timers])
        db[FLOORS].update_one({"_id": FLOOR_ID}, {"$min": {"due_at": due}}, upsert=True)
        ids = [doc["_id"] for doc, _ in built]
        read = cases.get_cases

        def read_then_assigned_elsewhere(uow: UnitOfWork, *, complaint_ids: list[str]) -> dict[str, Any]:
            found = read(uow, complaint_ids=complaint_ids)
            if len(complaint_ids) > 1:  # the group's read: an agent is assigned to one of its cases meanwhile
                db.cases.update_one({"_id": ids[1]}, {"$set": {"assigned_agent": "agent-7"}, "$inc": {"version": 1}})
            return found

        monkeypatch.setattr(cases, "get_cases", read_then_assigned_elsewhere)
        claimed = firing.fire_due(UnitOfWork.standalone(), owner="solo", lease_s=30, limit=50, group=50,
                                  rules=load_rules(settings=EscalationSettings()), topic="escalation.events",
                                  scan=claims.DueScan())
        assert claimed == len(ids)
        # Undone as a group, each fired alone: every case changed once, its events written once.
        fired = {t["complaint_id"] for t in db.timers.find({"clock": "first_response", "state": "fired",
                                                            "fired_by": "solo"})}
        assert fired == set(ids)
        entries = list(OutboxEntry.objects)
        # The group wrote nothing: each entry holds the events of one timer, fired alone.
        assert all(len({r.key for r in e.records()}) == 1 for e in entries)
        records = Counter((r.message_type, r.key) for e in entries for r in e.records())
        assert {cid for kind, cid in records if kind in SLA} == set(ids) and set(records.values()) == {1}, records
        assert db.cases.find_one({"_id": ids[1]})["assigned_agent"] == "agent-7"  # the other change was kept
