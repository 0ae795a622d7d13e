"""Full lifecycle at a fixed filing rate: filed → acknowledged → first notification delivered.

Reports p50/p99 of both steps and the store round-trips each complaint costs: those in its one
trace (pymongo spans), every store command of the run divided by the complaints filed, and the
store's own request counters (serverStatus) over the run, per complaint; --top N adds the N most
frequent operations of each service, in the traces and outside them. The services are stopped
before their spans are read, so that what their exporters still held is stored. The stores are
those `complaints up` starts: with no MONGODB_URI, one embedded store per service and one for spans.
Run: .venv/bin/python -m bench.lifecycle [--rate 50 --duration 20 --top 10] [--metrics 2]
(--metrics N scrapes every service's /metrics every N seconds during the run: bench.metrics_watch.)
(COMPLAINTS_LOG_LEVEL=INFO keeps the services' INFO lines in the run's logs; WARNING otherwise.)
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import tempfile
import time
from collections import Counter
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
from pymongo import MongoClient

from bench.harness import CpuMeter, console, open_loop, percentiles, suite_stack, write_results
from bench.metrics_watch import MetricsWatch
from shared.auth import mint_token
from shared.runtime import embedded, supervisor
from shared.settings import ServiceSettings
from shared.telemetry import SPANS_COLLECTION, stored_spans
from shared.topics import TopicSettings
from tests.support.samples import sample_complaint

NS = "lifecycle"


def _at(value: str | datetime) -> datetime:
    return value if isinstance(value, datetime) else datetime.fromisoformat(value.replace("Z", "+00:00"))


def steps_of(filed_at: datetime, timeline: list[dict[str, Any]]) -> tuple[float, float] | None:
    """Seconds from filing to acknowledgement and to the first notification, once both happened."""
    acknowledged = [e for e in timeline if e["step"] == "status_acknowledged"]
    notified = [e for e in timeline if e["service"] == "notify"]
    if not acknowledged or not notified:
        return None
    return ((_at(acknowledged[0]["at"]) - filed_at).total_seconds(),
            (min(_at(e["at"]) for e in notified) - filed_at).total_seconds())


def measured(db: Any) -> dict[str, tuple[float, float]]:
    """Each complaint's two steps by ticket, read once: its filing and the other services' steps."""
    timelines: dict[str, list[dict[str, Any]]] = {}
    for step in db["complaint_steps"].find({}, {"complaint_id": 1, "at": 1, "service": 1, "step": 1}):
        timelines.setdefault(step["complaint_id"], []).append(step)
    done = {}
    for doc in db["complaints"].find({}, {"ticket": 1, "filed_at": 1}):
        if (steps := steps_of(_at(doc["filed_at"]), timelines.get(doc["_id"], []))) is not None:
            done[doc["ticket"]] = steps
    return done


def operation_of(span: dict[str, Any]) -> str:
    """A store span as "command collection", e.g. "update complaints"."""
    command = span["name"].rsplit(".", 1)[-1]
    return f"{command} {span['attributes'].get('db_mongodb_collection') or ''}".strip()


def top_operations(counts: Counter[tuple[str, str]], *, sample: int, top: int) -> dict[str, dict[str, float]]:
    """Each service's `top` most frequent store operations, per complaint."""
    by_service: dict[str, dict[str, float]] = {}
    for (service, operation), n in counts.most_common():
        ops = by_service.setdefault(service, {})
        if len(ops) < top:
            ops[operation] = round(n / sample, 2)
    return dict(sorted(by_service.items()))


def cpu_per_complaint(phases: list[tuple[dict[str, float], float]], *, filed: int) -> dict[str, float]:
    """Milliseconds of CPU per filed complaint, by part and in all, from each phase's shares of one
    core (%) and its length (s)."""
    parts: dict[str, float] = {}
    for shares, seconds in phases:
        for part, share in shares.items():
            parts[part] = parts.get(part, 0.0) + share * seconds * 10 / max(1, filed)
    return {"all": round(sum(parts.values()), 1), **{part: round(ms, 1) for part, ms in sorted(parts.items())}}


def store_requests(uris: list[str]) -> dict[str, int]:
    """The stores' request counters (serverStatus), summed: their data operations and every request."""
    totals = {"data_operations": 0, "all_requests": 0}
    for uri in dict.fromkeys(uris):
        with MongoClient(uri) as client:
            status = client.admin.command("serverStatus")
        ops = status["opcounters"]
        totals["data_operations"] += sum(ops[k] for k in ("insert", "query", "update", "delete", "getmore"))
        totals["all_requests"] += status["network"]["numRequests"]
    return totals


def main() -> None:
    """Run the lifecycle benchmark and print its figures."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rate", type=float, default=50.0)
    parser.add_argument("--duration", type=float, default=20.0)
    parser.add_argument("--trace-sample", type=int, default=50)
    parser.add_argument("--top", type=int, default=0,
                        help="also print each service's N most frequent store operations per complaint")
    parser.add_argument("--metrics", type=float, default=0.0,
                        help="scrape every service's /metrics every N seconds during the run and report what moved")
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="bench-lifecycle-"))
    with suite_stack(workdir=workdir) as (bootstrap, stores):
        topics = TopicSettings(prefix=f"{NS}.")
        asyncio.run(embedded.create_topics(bootstrap=bootstrap, topics=topics.all_topics(),
                                           partitions=topics.partitions))
        extra = {"COMPLAINTS_TOPIC_PREFIX": f"{NS}.", "COMPLAINTS_TELEMETRY_DB": f"{NS}_telemetry",
                 "COMPLAINTS_LOG_LEVEL": os.environ.get("COMPLAINTS_LOG_LEVEL", "WARNING")}
        for name in supervisor.SERVICES:
            extra[f"{name.upper()}_MONGODB_DB"] = f"{NS}_{name}"
        env = supervisor.service_env(base=dict(os.environ), bootstrap=bootstrap, mongodb_uri=stores["intake"],
                                     extra=extra)
        services = [supervisor.start_service(name=n, port=embedded.free_port(), env=env, log_dir=workdir,
                                             stores=stores)
                    for n in supervisor.SERVICES]
        try:
            supervisor.wait_ready(services, timeout=120, progress=console.print)
            watch = MetricsWatch({s.name: s.url for s in services}, interval=args.metrics) if args.metrics else None
            if watch is not None:
                watch.__enter__()
            intake = services[0].url
            template = sample_complaint("complaint_invalid_key_zh.json")
            auth = {"authorization": "Bearer " + mint_token(
                secret=ServiceSettings().auth_secret, subject="bench", role="partner", platform=template["platform"])}
            tickets: list[str] = []

            # Bodies made before the clock starts: the load generator shares the cores it measures.
            bodies = [json.dumps(sample_complaint("complaint_invalid_key_zh.json", **{"order.number": f"LC{i:08d}"}),
                                 ensure_ascii=False).encode() for i in range(int(args.rate * args.duration))]

            async def run() -> list[float]:
                async with httpx.AsyncClient(timeout=30,
                                             headers={**auth, "content-type": "application/json"}) as client:
                    async def send(i: int) -> None:
                        answer = await client.post(f"{intake}/v1/complaints", content=bodies[i])
                        answer.raise_for_status()
                        tickets.append(answer.json()["ticket"])
                    return await open_loop(label="filing", send=send, rate=args.rate, duration=args.duration)

            cpu = CpuMeter()
            cpu.mark()
            requests_before = store_requests(list(stores.values()))
            started = time.monotonic()
            filing = asyncio.run(run())
            cpu_filing, filed_in = cpu.mark(), time.monotonic() - started
            deadline = time.monotonic() + 180
            # One count per pass, not a GET per complaint: polling a thousand complaints one by one
            # loaded the store the run measures as much as the work did. A complaint is through once
            # acknowledged and no service is waited for (notify's first step is its first notice).
            intake_db = MongoClient(stores["intake"], tz_aware=True)[f"{NS}_intake"]

            def through() -> int:
                acknowledged = intake_db["complaints"].count_documents({"status": "acknowledged"})
                return min(acknowledged, len(tickets) - len(intake_db["complaint_waits"].distinct("complaint_id")))

            with httpx.Client(timeout=30, headers=auth) as client:
                while (finished := through()) < len(tickets) and time.monotonic() < deadline:
                    console.print(f"finished {finished}/{len(tickets)}", end="\r")
                    time.sleep(0.5)
                cpu_after, caught_up_in = cpu.mark(), time.monotonic() - started - filed_in
                requests_after = store_requests(list(stores.values()))
                done = measured(intake_db)
                sampled = [client.get(f"{intake}/v1/complaints/{ticket}").json()["trace_id"]
                           for ticket in tickets[: args.trace_sample]]
                # What each consumer applied, and how often a shared transaction was undone or retried.
                consumers = {s.name: client.get(f"{s.url}/readyz").json().get("consumers", []) for s in services}
                if watch is not None:
                    watch.__exit__()
                # A service stopping sends what its span exporter still holds (a busy store leaves it
                # behind): its spans are all stored once it is gone.
                console.print("stopping the services to flush their spans")
                supervisor.stop_all([s.child for s in services])
                spans = stored_spans(MongoClient(stores["telemetry"])[f"{NS}_telemetry"][SPANS_COLLECTION])
                of_trace: dict[str, list[dict[str, Any]]] = {}
                for span in spans:
                    of_trace.setdefault(span["trace_id"], []).append(span)
                per_service: Counter[str] = Counter()
                per_operation: Counter[tuple[str, str]] = Counter()
                totals = []
                for trace_id in sampled:
                    db = [s for s in of_trace.get(trace_id, []) if s["attributes"].get("db_system")]
                    if not db:
                        continue  # no trace under that id: not a complaint that cost nothing
                    per_service.update(s["service"] for s in db)
                    per_operation.update((s["service"], operation_of(s)) for s in db)
                    totals.append(len(db))
            sample = max(1, len(totals))
            figures = {
                "rate_per_s": args.rate, "duration_s": args.duration, "filed": len(tickets),
                "consumers": {name: [{k: c[k] for k in ("topic", "processed", "dead_lettered", "shared_transactions",
                                                        "shared_transactions_undone", "shared_transactions_retried",
                                                        "shared_transactions_split")}
                                     for c in stats] for name, stats in consumers.items()},
                "finished": len(done), "lost": len(tickets) - len(done),
                # Each part's share of one core while filing, and until the last complaint finished.
                "cpu_percent_of_one_core": {"filing": cpu_filing, "catching_up": cpu_after},
                # The CPU time each part spent from the first filing until the last complaint
                # finished, per filed complaint (idle polling included: ~25 % of a core in all).
                "cpu_ms_per_complaint": cpu_per_complaint(
                    [(cpu_filing, filed_in), (cpu_after, caught_up_in)], filed=len(tickets)),
                "filing_http_ms": percentiles(filing),
                "filed_to_acknowledged_ms": percentiles([a * 1000 for a, _ in done.values()]),
                "filed_to_first_notification_ms": percentiles([n * 1000 for _, n in done.values()]),
                "store_round_trips_per_complaint": {
                    "traces": len(totals), "mean": round(sum(totals) / sample, 1), "max": max(totals, default=0),
                    "by_service": {k: round(v / sample, 1) for k, v in sorted(per_service.items())}},
            }

            # Every store command of the run, whatever trace it is in (shared transactions' commits
            # and the relays' and workers' polls sit in none of the complaints'), per filed complaint.
            # The bench's own status reads (GET requests while it waits) are not the complaints' cost.
            reads = {s["trace_id"] for s in spans if s["parent_span_id"] is None and s["name"].startswith("GET ")}
            every = Counter(s["service"] for s in spans
                            if "db_system" in s["attributes"] and s["trace_id"] not in reads)
            filed = max(1, len(tickets))
            if watch is not None:
                figures["metrics"] = watch.summary()
            figures["store_commands_per_filed_complaint"] = {
                "all": round(sum(every.values()) / filed, 1),
                "by_service": {k: round(v / filed, 1) for k, v in sorted(every.items())}}
            # The stores' own count, from the first filing until the last complaint finished: every
            # request they answered (the span store's inserts and the bench's progress reads too).
            figures["store_requests_per_filed_complaint"] = {
                kind: round((requests_after[kind] - requests_before[kind]) / filed, 1) for kind in requests_after}

            if args.top:
                figures["store_operations_per_complaint"] = top_operations(
                    per_operation, sample=sample, top=args.top)
                # Store work in no complaint's trace (relays, workers, sweeps, idle polls included).
                background: Counter[tuple[str, str]] = Counter(
                    (s["service"], operation_of(s))
                    for s in spans if s["parent_span_id"] is None and "db_system" in s["attributes"])
                figures["background_operations_per_filed_complaint"] = top_operations(
                    background, sample=max(1, len(tickets)), top=args.top)

            def plot(ax: Any) -> None:
                ax.hist([n * 1000 for _, n in done.values()], bins=40)
                ax.set_xlabel("filed → first notification (ms)")
                ax.set_ylabel("complaints")
                ax.set_title(f"Lifecycle latency at {args.rate:.0f} complaints/s")

            write_results(name="lifecycle", figures=figures, plot=plot)
        finally:
            supervisor.stop_all([s.child for s in services])


if __name__ == "__main__":
    main()
