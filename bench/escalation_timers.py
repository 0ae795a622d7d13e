"""Escalation timers: lag between due time and firing, and fires/s, over 100,000 open cases.

Starts the embedded broker and store (or uses KAFKA_BOOTSTRAP_SERVERS / MONGODB_URI), creates
--cases open cases with their clocks straight in escalation's database (insert_many in batches,
built by the service's own routing and clock code), with every first-response warning and breach
due inside a short window, then starts --instances escalation processes and watches their timer
loops fire (each breach also escalates the case and writes its events). Prints and saves
p50/p99/max lag and throughput to bench/out/.
Run: .venv/bin/python -m bench.escalation_timers [--cases 100000] [--instances 2] [--window-s 60]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from pymongo import MongoClient

from bench.harness import OUT, embedded_stack, percentiles
from services.escalation.config import EscalationSettings
from services.escalation.domain.policy import DEFAULT_POLICY
from services.escalation.domain.routing import MerchantHistory
from services.escalation.domain.terms import Category
from services.escalation.models import Case, Timer
from services.escalation.service.opening import build_case
from services.escalation.service.rules import load_rules
from services.escalation.service.timer_docs import FLOOR_ID, FLOORS, new_timers
from shared.contracts.complaints import Complainant, ComplaintFiled, OrderSummary, Party
from shared import store
from shared.envelope import new_id
from shared.ledger import ProcessedEvent
from shared.outbox import OutboxEntry
from shared.money import Money
from shared.runtime import embedded, supervisor
from shared.topics import TopicSettings

CLOCK_S = 120.0  # the bench policy's first-response clock; its warning comes at 80% (96 s)


def _say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def _policy(workdir: Path) -> Path:
    text = DEFAULT_POLICY.read_text(encoding="utf-8").replace(
        "basis: calendar_hours\n    duration: 24\n    owner: agent",
        f"basis: calendar_hours\n    duration: {CLOCK_S / 3600:.6f}\n    owner: agent", 1)
    path = workdir / "policy.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def _event(*, opened: datetime, i: int) -> ComplaintFiled:
    cid = new_id()
    return ComplaintFiled(
        complaint_id=cid, ticket=f"CP-BENCH-{i:07d}", platform="kamen-1",
        merchant=Party(id=f"m-{i % 500}"), complainant=Complainant(id=f"u-{i}"), category="not-delivered",
        order=OrderSummary(order_number=f"{i:012d}", item="100元游戏点卡",
                           amount=Money(amount_minor=10000, currency="CNY"), paid_at=opened,
                           payment_channel="alipay"),
        demand={"type": "refund"}, filed_at=opened)


def seed(*, db: Any, rules: Any, cases: int, start: datetime, window_s: float, batch: int) -> int:
    """Insert the cases and their timers; warnings and breaches fall in [start, start + window + 24 s]."""
    timers_total, began = 0, time.monotonic()
    for offset in range(0, cases, batch):
        docs, timers = [], []
        for i in range(offset, min(offset + batch, cases)):
            warn_at = start + timedelta(seconds=random.uniform(0, window_s))
            event = _event(opened=warn_at - timedelta(seconds=CLOCK_S * 0.8), i=i)
            case, clocks, _ = build_case(event=event, rules=rules, category=Category.NOT_DELIVERED,
                                         history=MerchantHistory())
            docs.append(case.to_mongo().to_dict())
            timers += [t.to_mongo().to_dict() for t in new_timers(complaint_id=case.id, ticket=case.ticket,
                                                                  clocks=clocks)]
        db[Case._get_collection_name()].insert_many(docs, ordered=False)
        db[Timer._get_collection_name()].insert_many(timers, ordered=False)
        db[FLOORS].update_one({"_id": FLOOR_ID}, {"$min": {"due_at": min(t["due_at"] for t in timers)}},
                              upsert=True)
        timers_total += len(timers)
        done = min(offset + batch, cases)
        _say(f"  seeded {done:>7}/{cases} cases, {timers_total} timers "
             f"({done / (time.monotonic() - began):,.0f} cases/s)")
    return timers_total


def watch(*, db: Any, expected: int, deadline: float) -> None:
    """Print progress until every first-response timer has fired or the deadline passes."""
    timers, last, began = db[Timer._get_collection_name()], 0, time.monotonic()
    while time.monotonic() < deadline:
        fired = timers.count_documents({"state": "fired", "clock": "first_response"})
        _say(f"  fired {fired:>7}/{expected}  ({(fired - last) / 5:,.0f}/s now, "
             f"{time.monotonic() - began:,.0f}s since the instances were ready)")
        if fired >= expected:
            return
        last = fired
        time.sleep(5)
    _say("  deadline reached before every timer fired; figures cover what fired")


def measure(*, db: Any) -> dict[str, Any]:
    """Lag (ms) from due to fired, and fires per second over the firing span."""
    rows = list(db[Timer._get_collection_name()].find(
        {"clock": "first_response", "state": "fired"}, {"due_at": 1, "fired_at": 1, "fired_by": 1}))
    lags = [(r["fired_at"] - r["due_at"]).total_seconds() * 1000 for r in rows]
    span = (max(r["fired_at"] for r in rows) - min(r["fired_at"] for r in rows)).total_seconds() if rows else 0
    owners: dict[str, int] = {}
    for r in rows:
        owners[r["fired_by"]] = owners.get(r["fired_by"], 0) + 1
    return {"lag_ms": percentiles(lags), "fired": len(rows),
            "fires_per_s": round(len(rows) / span, 1) if span else None, "by_instance": sorted(owners.values())}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--instances", type=int, default=2)
    parser.add_argument("--window-s", type=float, default=60.0, help="spread of the due times")
    parser.add_argument("--batch", type=int, default=2_000, help="cases per insert_many")
    parser.add_argument("--max-s", type=float, default=1800.0, help="stop watching after this long")
    parser.add_argument("--lead-s", type=float, default=None,
                        help="seconds from the start of seeding to the first due time (default: 60 + cases/200)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, embedded_stack(workdir=Path(tmp)) as (bootstrap, uri):
        workdir, prefix = Path(tmp), f"bench{new_id()[:6]}."
        policy = _policy(workdir)
        rules = load_rules(settings=EscalationSettings(policy_path=policy))
        db_name = f"{prefix[:-1]}_escalation"
        db = MongoClient(uri, tz_aware=True)[db_name]
        # The service's indexes exist before the data, as they would in production.
        store.connect(uri=uri, db=db_name, timeout_ms=30_000)
        store.ensure_indexes(Case, Timer, OutboxEntry, ProcessedEvent)
        topics = TopicSettings(prefix=prefix)
        asyncio.run(embedded.create_topics(bootstrap=bootstrap, topics=topics.all_topics(), partitions=4))
        _say(f"seeding {args.cases} open cases (due window {args.window_s:.0f}s)")
        lead = args.lead_s if args.lead_s is not None else 60.0 + args.cases / 200
        start = datetime.now(UTC) + timedelta(seconds=lead)
        seeded_at = time.monotonic()
        timers = seed(db=db, rules=rules, cases=args.cases, start=start, window_s=args.window_s,
                      batch=args.batch)
        seed_s = time.monotonic() - seeded_at
        env = {**os.environ, "KAFKA_BOOTSTRAP_SERVERS": bootstrap, "MONGODB_URI": uri,
               "COMPLAINTS_TOPIC_PREFIX": prefix, "ESCALATION_MONGODB_DB": db_name,
               "ESCALATION_CONSUMER_GROUP": f"{prefix}escalation", "ESCALATION_POLICY_PATH": str(policy),
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
            watch(db=db, expected=2 * args.cases, deadline=time.monotonic() + args.max_s)
            result = {"cases": args.cases, "instances": args.instances, "window_s": args.window_s,
                      "ready_before_first_due_s": round(ahead, 1),
                      "timers_seeded": timers, "seed_s": round(seed_s, 1),
                      "seed_cases_per_s": round(args.cases / seed_s), **measure(db=db),
                      "at": datetime.now(UTC).isoformat()}
        finally:
            supervisor.stop_all([p.child for p in procs])
    print(json.dumps(result, indent=2))
    OUT.mkdir(exist_ok=True)
    out = OUT / f"escalation_timers_{args.cases}_{args.instances}i_{datetime.now(UTC):%Y%m%dT%H%M%S}.json"
    out.write_text(json.dumps(result, indent=2), encoding="utf-8")
    _say(f"written to {out}")


if __name__ == "__main__":
    main()
