"""Escalation timers: lag from due time to firing with 100,000 open cases waiting in the store.

Starts the embedded broker and store (or uses KAFKA_BOOTSTRAP_SERVERS / MONGODB_URI) and creates
--cases open cases straight in escalation's database (insert_many in batches, built by the
service's own routing and clock code under the default policy: each not-delivered case has five
clocks, so ten warning/breach timers). Most cases are the backlog: opened in the last 18 hours,
nothing due during the run. --due-rate cases per second, for --measure-s seconds, have their
first-response warning (at 80% of 24 h) or breach (at 24 h, which also escalates the case) fall
due while --instances escalation processes run. Prints and saves p50/p99/max lag, fires/s and
how the firing split between the instances to bench/out/. A high --due-rate measures capacity.
--burst N instead has N clocks fall due at the same instant (as working-day clocks do at the close
of a day) and adds the time to fire them all, duplicates, and how fast filings sent meanwhile open
their cases against those sent before the burst.
Run: .venv/bin/python -m bench.escalation_timers [--cases 100000] [--instances 2] [--due-rate 10]
     .venv/bin/python -m bench.escalation_timers --cases 20000 --instances 2 --burst 10000
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from pymongo import MongoClient

from bench.burst_probe import FilingProbe, opened_lags
from bench.harness import CpuMeter, embedded_stack, percentiles, settle, write_results
from services.escalation.config import EscalationSettings
from services.escalation.domain.routing import MerchantHistory
from services.escalation.models import Case, Timer
from services.escalation.repository.timers import FLOOR_ID, FLOORS, new_timers
from services.escalation.service.opening import build_case
from services.escalation.service.rules import load_rules
from shared import store
from shared.contracts.complaints import Complainant, ComplaintFiled, OrderSummary, Party
from shared.contracts.vocabulary import Category
from shared.envelope import new_id
from shared.ledger import ProcessedEvent
from shared.money import Money
from shared.outbox import OutboxEntry, stored_records
from shared.runtime import embedded, supervisor
from shared.topics import TopicSettings

WARN_AFTER = timedelta(hours=24 * 0.8)  # the default policy's first-response warning
BREACH_AFTER = timedelta(hours=24)


def _say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def sla_events(*, db: Any, complaint_ids: set[str]) -> dict[str, int]:
    """SLA events written to the outbox for the due cases, every record of an entry written
    together (a group of fires is one entry): how many, and how many beyond one per case."""
    counts: dict[str, int] = {}
    for entry in db[OutboxEntry._get_collection_name()].find({}, {"key": 1, "message_type": 1, "more": 1}):
        for record in stored_records(entry):
            if record["message_type"] in {"SlaWarning", "SlaBreached"} and record["key"] in complaint_ids:
                counts[record["key"]] = counts.get(record["key"], 0) + 1
    return {"sla_events": sum(counts.values()), "cases_with_sla_event": len(counts),
            "duplicate_sla_events": sum(n - 1 for n in counts.values())}


def _event(*, opened: datetime, i: int) -> ComplaintFiled:
    return ComplaintFiled(
        complaint_id=new_id(), ticket=f"CP-BENCH-{i:07d}", platform="kamen-1",
        merchant=Party(id=f"m-{i % 500}"), complainant=Complainant(id=f"u-{i}"), category="not-delivered",
        order=OrderSummary(order_number=f"{i:012d}", item="100元游戏点卡",
                           amount=Money(amount_minor=10000, currency="CNY"), paid_at=opened,
                           payment_channel="alipay"),
        demand={"type": "refund"}, filed_at=opened)


def _docs(*, rules: Any, opened: datetime, i: int, warned: bool) -> tuple[dict, list[dict]]:
    """One case and its timers; a case past its warning has that timer fired already."""
    case, clocks, _ = build_case(event=_event(opened=opened, i=i), rules=rules,
                                 category=Category.NOT_DELIVERED, history=MerchantHistory())
    doc = case.to_mongo().to_dict()
    timers = new_timers(complaint_id=case.id, ticket=case.ticket, clocks=clocks)
    if warned:
        for entry in doc["clocks"]:
            entry["warned"] = entry["warned"] or entry["name"] == "first_response"
        for t in timers:
            if (t["clock"], t["kind"]) == ("first_response", "warning"):
                t.update(state="fired", fired_at=t["due_at"], fired_by="seed")
    return doc, timers


def _clone(*, case: dict, timers: list[dict], i: int) -> tuple[dict, list[dict]]:
    """A copy of a built case under a new complaint id and ticket (building each costs ~3 ms)."""
    cid, ticket = new_id(), f"CP-BENCH-{i:07d}"
    copy = {**case, "_id": cid, "ticket": ticket, "complainant_id": f"u-{i}", "merchant_id": f"m-{i % 500}"}
    return copy, [{**t, "_id": f"{cid}:{t['clock']}:{t['kind']}", "complaint_id": cid, "ticket": ticket}
                  for t in timers]


def seed(*, db: Any, plans: list[tuple[datetime, bool]], batch: int, label: str, offset: int = 0,
         templates: int = 0) -> int:
    """Insert cases opened at the planned instants (with the warning marked fired where asked).

    With templates > 0 only that many cases are built and the rest are copies of them: for a
    backlog whose exact opening instants do not matter."""
    rules, total, began = load_rules(settings=EscalationSettings()), 0, time.monotonic()
    built = [_docs(rules=rules, opened=opened, i=n, warned=warned)
             for n, (opened, warned) in enumerate(plans[:templates])]
    for low in range(0, len(plans), batch):
        cases, timers = [], []
        for n, (opened, warned) in enumerate(plans[low:low + batch], start=low):
            doc, more = (_clone(case=built[n % templates][0], timers=built[n % templates][1], i=offset + n)
                         if templates else _docs(rules=rules, opened=opened, i=offset + n, warned=warned))
            cases.append(doc)
            timers += more
        db[Case._get_collection_name()].insert_many(cases, ordered=False)
        db[Timer._get_collection_name()].insert_many(timers, ordered=False)
        scheduled = [t["due_at"] for t in timers if t["state"] == "scheduled"]
        db[FLOORS].update_one({"_id": FLOOR_ID}, {"$min": {"due_at": min(scheduled)}}, upsert=True)
        total += len(timers)
        done = min(low + batch, len(plans))
        _say(f"  {label}: {done:>7}/{len(plans)} cases, {total} timers "
             f"({done / (time.monotonic() - began):,.0f} cases/s)")
    return total


def plan_backlog(*, count: int, now: datetime) -> list[tuple[datetime, bool]]:
    """Cases opened over the last 18 hours: their first fire comes after the run."""
    return [(now - timedelta(hours=random.uniform(0, 18)), False) for _ in range(count)]


def plan_burst(*, count: int, start: datetime) -> tuple[list[tuple[datetime, bool]], list[datetime]]:
    """Cases whose first-response warning or breach (alternately) all fall due at start."""
    plans = [(start - (BREACH_AFTER if n % 2 else WARN_AFTER), n % 2 == 1) for n in range(count)]
    return plans, [start] * count


def plan_due(*, count: int, start: datetime, rate: float) -> tuple[list[tuple[datetime, bool]], list[datetime]]:
    """Cases whose first-response warning or breach falls due at rate per second from start."""
    plans, dues = [], []
    for n in range(count):
        due = start + timedelta(seconds=n / rate + random.uniform(0, 1 / rate))
        breach = n % 2 == 1
        plans.append((due - (BREACH_AFTER if breach else WARN_AFTER), breach))
        dues.append(due)
    return plans, dues


def _fired() -> dict[str, Any]:
    return {"clock": "first_response", "state": "fired", "fired_by": {"$ne": "seed"}}


def watch(*, db: Any, expected: int, last_due: datetime, deadline: float) -> dict[str, float]:
    """Print progress until every due first-response timer has fired or the deadline passes; each
    part's CPU (% of one core) over the intervals in which timers fired."""
    timers, last = db[Timer._get_collection_name()], 0
    meter, busy, spent = CpuMeter(), 0, {}
    while time.monotonic() < deadline:
        fired = timers.count_documents(_fired())
        now = datetime.now(UTC)
        shares = meter.mark()
        if fired > last:
            busy += 1
            for role, share in shares.items():
                spent[role] = spent.get(role, 0.0) + share
        cpu = ", ".join(f"{role} {share:.0f}%" for role, share in shares.items() if share >= 1)
        _say(f"  fired {fired:>6}/{expected}  ({(fired - last) / 5:,.0f}/s now, "
             f"last due {'in' if last_due > now else 'was'} {abs((last_due - now).total_seconds()):,.0f}s)  "
             f"CPU: {cpu}")
        if fired >= expected:
            break
        last = fired
        time.sleep(5)
    else:
        _say("  deadline reached before every timer fired; the unfired count as late until now")
    return {role: round(total / busy, 1) for role, total in spent.items()} if busy else {}


def measure(*, db: Any, dues: list[datetime]) -> tuple[dict[str, Any], list[tuple[float, float]]]:
    """Lag (ms) from due to fired; a due timer not fired yet counts with its lag until now."""
    timers, now = db[Timer._get_collection_name()], datetime.now(UTC)
    rows = list(timers.find(_fired(), {"due_at": 1, "fired_at": 1, "fired_by": 1}))
    late = list(timers.find({"clock": "first_response", "state": {"$in": ["scheduled", "firing"]},
                             "due_at": {"$lte": max(dues)}}, {"due_at": 1}))
    lags = [(r["fired_at"] - r["due_at"]).total_seconds() * 1000 for r in rows]
    lags += [(now - r["due_at"]).total_seconds() * 1000 for r in late]
    span = (max(r["fired_at"] for r in rows) - min(r["fired_at"] for r in rows)).total_seconds() if rows else 0
    owners: dict[str, int] = {}
    for r in rows:
        owners[r["fired_by"]] = owners.get(r["fired_by"], 0) + 1
    early = sum(1 for r in rows if r["fired_at"] < r["due_at"])
    first = min(dues)
    points = [((r["due_at"] - first).total_seconds(), lag) for r, lag in zip(rows + late, lags, strict=True)]
    backlog_fired = timers.count_documents({"clock": {"$ne": "first_response"}, "state": "fired"})
    return {"due": len(dues), "fired": len(rows), "not_fired": len(late), "fired_early": early,
            "backlog_timers_fired": backlog_fired, "lag_ms": percentiles(lags),
            "within_2s": sum(1 for x in lags if x <= 2000),
            "fires_per_s": round(len(rows) / span, 1) if span else None,
            "by_instance": sorted(owners.values())}, points


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=100_000, help="open cases in the store")
    parser.add_argument("--instances", type=int, default=2)
    parser.add_argument("--due-rate", type=float, default=10.0, help="first-response timers falling due per second")
    parser.add_argument("--measure-s", type=float, default=120.0, help="how long timers keep falling due")
    parser.add_argument("--settle-s", type=float, default=0.0,
                        help="seconds between the end of the bulk load and the first due time")
    parser.add_argument("--burst", type=int, default=0, help="clocks due at the same instant (replaces --due-rate)")
    parser.add_argument("--batch", type=int, default=1_000, help="cases per insert_many")
    parser.add_argument("--max-s", type=float, default=900.0, help="stop watching this long after the last due time")
    args = parser.parse_args()
    due_count = args.burst or int(args.due_rate * args.measure_s)
    if due_count > args.cases:
        parser.error("--due-rate x --measure-s (or --burst) is more cases than --cases")
    with tempfile.TemporaryDirectory() as tmp, embedded_stack(workdir=Path(tmp)) as (bootstrap, uri):
        workdir, prefix = Path(tmp), f"bench{new_id()[:6]}."
        db_name = f"{prefix[:-1]}_escalation"
        db = MongoClient(uri, tz_aware=True)[db_name]
        # The service's indexes exist before the data, as they would in production.
        store.connect(uri=uri, db=db_name, timeout_ms=30_000)
        store.ensure_indexes(Case, Timer, OutboxEntry, ProcessedEvent)
        topics = TopicSettings(prefix=prefix)
        asyncio.run(embedded.create_topics(bootstrap=bootstrap, topics=topics.all_topics(), partitions=4))
        began = time.monotonic()
        _say(f"seeding {args.cases - due_count} backlog cases, then {due_count} falling due "
             + ("at one instant" if args.burst else f"at {args.due_rate:g}/s"))
        timers = seed(db=db, plans=plan_backlog(count=args.cases - due_count, now=datetime.now(UTC)),
                      batch=args.batch, label="backlog", templates=500)
        settled_s = settle(uri=uri)
        # The cases that fall due go in last, timed from now: the instances start meanwhile.
        # (A burst's cases are seeded at about 100/s on a busy machine.)
        start = datetime.now(UTC) + timedelta(seconds=max(20 + due_count / (100 if args.burst else 400),
                                                          args.settle_s))
        plans, dues = (plan_burst(count=due_count, start=start) if args.burst
                       else plan_due(count=due_count, start=start, rate=args.due_rate))
        # A burst's cases differ only in warning or breach: two built, the rest copies.
        timers += seed(db=db, plans=plans, batch=args.batch, label="falling due", offset=args.cases - due_count,
                       templates=2 if args.burst else 0)
        due_ids = {t["complaint_id"] for t in db[Timer._get_collection_name()].find(
            {"clock": "first_response", "due_at": {"$gte": min(dues), "$lte": max(dues)}}, {"complaint_id": 1})}
        seed_s = time.monotonic() - began
        env = {**os.environ, "KAFKA_BOOTSTRAP_SERVERS": bootstrap, "MONGODB_URI": uri,
               "COMPLAINTS_TOPIC_PREFIX": prefix, "ESCALATION_MONGODB_DB": db_name,
               "ESCALATION_CONSUMER_GROUP": f"{prefix}escalation",
               "COMPLAINTS_TELEMETRY_DB": f"{prefix[:-1]}_telemetry", "COMPLAINTS_LOG_LEVEL": "WARNING",
               "OTEL_TRACES_SAMPLER": "always_off", "KAFKA_SESSION_TIMEOUT_MS": "3000",
               "KAFKA_HEARTBEAT_INTERVAL_MS": "1000"}
        procs = []
        for n in range(args.instances):
            (workdir / f"i{n}").mkdir()
            procs.append(supervisor.start_service(name="escalation", port=embedded.free_port(), env=env,
                                                  log_dir=workdir / f"i{n}"))
        try:
            supervisor.wait_ready(procs, timeout=120)
            ahead = (start - datetime.now(UTC)).total_seconds()
            _say(f"{args.instances} instance(s) ready {ahead:.0f}s before the first due time")
            last_due = max(dues)
            wait_s = max(0.0, (last_due - datetime.now(UTC)).total_seconds()) + args.max_s
            probe = FilingProbe(bootstrap=bootstrap, topic=topics.intake_events)
            if args.burst:
                probe.start()
            cpu = watch(db=db, expected=due_count, last_due=last_due, deadline=time.monotonic() + wait_s)
            figures, points = measure(db=db, dues=dues)
            # Share of one core while timers fired (the store serves from one core at most).
            figures["cpu_percent_while_firing"] = cpu
            if args.burst:
                probe.stop()
                fired_at = [t["fired_at"] for t in db[Timer._get_collection_name()].find(_fired(), {"fired_at": 1})]
                done = max(fired_at) if fired_at else datetime.now(UTC)
                figures["time_to_fire_all_s"] = round((done - start).total_seconds(), 2)
                figures["first_to_last_fire_s"] = round((done - min(fired_at)).total_seconds(), 2) if fired_at else None
                figures.update(sla_events(db=db, complaint_ids=due_ids))
                # The filing probe's cases are opened by the same instances: before the burst vs during it.
                figures["filing_opened"] = opened_lags(db=db, probe=probe, burst_from=start, burst_to=done)
            result = {"cases": args.cases, "instances": args.instances, "burst": args.burst,
                      "due_rate_per_s": args.due_rate,
                      "measure_s": args.measure_s, "settle_s": args.settle_s, "store_settle_s": settled_s,
                      "ready_before_first_due_s": round(ahead, 1),
                      "timers_in_store": timers, "seed_s": round(seed_s, 1), **figures,
                      "at": datetime.now(UTC).isoformat()}
        finally:
            supervisor.stop_all([p.child for p in procs])
    name = (f"escalation_timers_{args.cases}_{args.instances}i_"
            + (f"burst{args.burst}" if args.burst else f"{args.due_rate:g}ps"))
    write_results(name=name, figures=result, plot=lambda ax: _plot(ax, points=points, result=result))


def _plot(ax: Any, *, points: list[tuple[float, float]], result: dict[str, Any]) -> None:
    ax.scatter([x for x, _ in points], [y for _, y in points], s=4)
    ax.axhline(2000, color="red", linewidth=1, label="target 2 s")
    ax.set_xlabel("due time, s from the first")
    ax.set_ylabel("lag from due to fired, ms")
    ax.set_title(f"{result['cases']:,} open cases, "
                 + (f"{result['burst']:,} due at once, " if result["burst"]
                    else f"{result['due_rate_per_s']:g} due/s, ")
                 + f"{result['instances']} instances")
    ax.legend()


if __name__ == "__main__":
    main()
