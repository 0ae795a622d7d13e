"""Filing over HTTP: saturation rate and latency at half of it, against a bare FastAPI raw insert.

Also the same figures with many complaints already stored (--stored 10000,1000000). Intake's spans
go to a store of their own, niced, as `complaints up` has it (--one-store: to intake's store, where
the raw insert also writes).
Run: .venv/bin/python -m bench.filing [--duration 10] [--stored 10000,1000000] [--one-store]
"""

from __future__ import annotations

import argparse
import asyncio
import copy
import os
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from pymongo import MongoClient

from bench.harness import CpuMeter, _servers, closed_loop, console, open_loop, percentiles, settle, write_results
from shared.auth import mint_token
from shared.runtime import embedded, supervisor
from shared.settings import ServiceSettings
from shared.topics import TopicSettings
from tests.support.samples import sample_complaint

NAMESPACE = "bench"


def complaint(i: int, run: str) -> dict[str, Any]:
    """A valid complaint with its own order number (so deduplication never merges them)."""
    return sample_complaint("complaint_invalid_key_zh.json", **{"order.number": f"B{run}{i:09d}"})


async def measure(*, label: str, url: str, make: Any, headers: dict[str, str], duration: float,
                  concurrency: int, answered: list[tuple[float, str]] | None = None) -> dict[str, Any]:
    """Saturation (closed loop), then latency at half the saturated rate (open loop); each answer at
    half rate goes in `answered` as (ms, trace id) when it is given."""
    limits = httpx.Limits(max_connections=concurrency * 2, max_keepalive_connections=concurrency * 2)
    async with httpx.AsyncClient(timeout=30, limits=limits, headers=headers) as client:
        async def send(i: int) -> None:
            start = time.perf_counter()
            response = await client.post(url, json=make(i))
            if response.status_code not in (200, 201):
                raise RuntimeError(f"{response.status_code}: {response.text[:200]}")
            if answered is not None and i >= 10**8:
                answered.append(((time.perf_counter() - start) * 1000, response.json().get("trace_id") or ""))

        cpu = CpuMeter()
        rate, saturated = await closed_loop(label=label, send=send, concurrency=concurrency, duration=duration)
        # CPU each part spent per request at saturation: where the rate's limit lies on this machine.
        cpu_ms = {part: round(share * 10 / rate, 2) for part, share in cpu.mark().items() if share >= 1}
        half = max(1.0, rate / 2)
        latencies = await open_loop(label=f"{label} at half", send=lambda i: send(10**8 + i),
                                    rate=half, duration=duration)
    return {"saturation_per_s": round(rate, 1), "at_saturation_ms": percentiles(saturated),
            "cpu_ms_per_request_at_saturation": cpu_ms,
            "half_rate_per_s": round(half, 1), "at_half_rate_ms": percentiles(latencies)}


def where_the_time_went(*, uri: str, answered: list[tuple[float, str]], wait_s: float = 15.0) -> dict[str, Any]:
    """Where the slowest 1 % of the answers at half rate spent their time, from their traces in the span
    store, against the median ones: before intake's server span began (the request waiting for the
    process), the store commands inside it, and the rest of it (intake's own work, and its waits
    for the interpreter lock and for its threads)."""
    ordered = sorted(answered)
    if len(ordered) < 20:
        return {}
    picks = {"slowest 1 %": ordered[-max(3, len(ordered) // 100):],
             "median": ordered[len(ordered) // 2 - 5: len(ordered) // 2 + 5]}
    client: MongoClient[dict[str, Any]] = MongoClient(uri, tz_aware=True)
    spans = client[ServiceSettings().telemetry_db]["spans"]
    wanted = {trace for group in picks.values() for _, trace in group if trace}
    deadline, found = time.monotonic() + wait_s, dict[str, list[dict[str, Any]]]()
    while time.monotonic() < deadline:  # spans are exported in batches, a moment after the answer
        found = {}
        for doc in spans.find({"trace_id": {"$in": sorted(wanted)}}, {"_id": 0}):
            found.setdefault(doc["trace_id"], []).extend(doc.get("spans", []))
        if all(any(s["kind"] == "SERVER" for s in found.get(t, [])) for t in wanted):
            break
        time.sleep(0.5)
    figures: dict[str, Any] = {}
    for name, group in picks.items():
        parts = []
        for ms, trace in group:
            server = next((s for s in found.get(trace, []) if s["kind"] == "SERVER"), None)
            if server is None:
                continue
            inside = (server["end"] - server["start"]).total_seconds() * 1000
            store = [s for s in found[trace] if s["kind"] == "CLIENT" and s.get("attributes", {}).get("db_system")]
            store_ms = sum((s["end"] - s["start"]).total_seconds() * 1000 for s in store)
            longest = max(store, key=lambda s: s["end"] - s["start"], default=None)
            parts.append({"answered_ms": round(ms, 1), "before_server_span_ms": round(ms - inside, 1),
                          "store_commands_ms": round(store_ms, 1), "intake_rest_ms": round(inside - store_ms, 1),
                          "store_commands": len(store),
                          "longest_command": (f"{longest['name']} "
                                              f"{longest.get('attributes', {}).get('db_mongodb_collection', '')} "
                                              f"{(longest['end'] - longest['start']).total_seconds() * 1000:.0f} ms"
                                              if longest else "")})
        figures[name] = parts
        if parts:
            mean = {k: round(statistics.fmean(p[k] for p in parts), 1)
                    for k in ("answered_ms", "before_server_span_ms", "store_commands_ms", "intake_rest_ms")}
            console.print(f"{'':>18}{name} at half rate ({len(parts)} traced), mean ms: answered "
                          f"{mean['answered_ms']} = before intake's span {mean['before_server_span_ms']} + store "
                          f"commands {mean['store_commands_ms']} + rest in intake {mean['intake_rest_ms']}")
            figures[f"{name} mean"] = mean
    return figures


def stack(*, workdir: Path, one_store: bool) -> Any:
    """The broker, and intake's store and span store (URIs by name): the configured ones, else
    embedded, the span store niced as `complaints up` starts it (or intake's own with `one_store`)."""
    def start() -> tuple[list[embedded.Child], dict[str, str]]:
        if one_store:
            child, uri = embedded.start_mongodb(data_dir=workdir / "mongodb", log_dir=workdir)
            return [child], supervisor.one_store(uri)
        return embedded.start_stores(names=["intake", "telemetry"], data_dir=workdir / "mongodb", log_dir=workdir,
                                     background=frozenset({"telemetry"}))

    return _servers(workdir=workdir, start_stores=start, configured=supervisor.one_store)


def seed(*, uri: str, db: str, count: int) -> None:
    """Store `count` more complaints shaped like a filed one, in batches.

    Like a real store they are mostly history: spread over the past year, over 500 merchants,
    nearly all closed. Other services' steps on their timelines live in a collection of their own,
    which filing never reads, so they are not seeded.
    """
    collection = MongoClient(uri, tz_aware=True)[db]["complaints"]
    template = collection.find_one()
    if template is None:
        raise RuntimeError("no complaint stored to copy")
    have = collection.estimated_document_count()
    now = datetime.now(UTC)
    batch: list[dict[str, Any]] = []
    for i in range(have, have + count):
        doc = copy.deepcopy(template)
        doc["_id"] = f"seed{i:010d}"
        doc["ticket"] = f"SEED-{i:010d}"
        doc.get("order", {})["number"] = f"S{i:010d}"
        doc["merchant"] = {**doc.get("merchant", {}), "id": f"seed-m{i % 500:03d}"}
        doc["filed_at"] = doc["updated_at"] = now - timedelta(minutes=5 + (i * 7919) % 525_600)
        doc["status"] = "closed" if i % 50 else "in_review"
        batch.append(doc)
        if len(batch) == 5000:
            collection.insert_many(batch, ordered=False)
            batch.clear()
            console.print(f"seeded {i + 1 - have}/{count}", end="\r")
    if batch:
        collection.insert_many(batch, ordered=False)
    console.print(f"seeded {count} complaints")


def main() -> None:
    """Run the filing benchmark and print its figures."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--duration", type=float, default=10.0)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--stored", default="", help="comma-separated stored-complaint counts, e.g. 10000,1000000")
    parser.add_argument("--settle-max-s", type=float, default=300.0,
                        help="longest wait for the store to settle after seeding (it may be busy for minutes)")
    parser.add_argument("--one-store", action="store_true",
                        help="spans in intake's store (where the raw insert also writes), not a store of their own")
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="bench-filing-"))
    with stack(workdir=workdir, one_store=args.one_store) as (bootstrap, stores):
        uri = stores["intake"]
        topics = TopicSettings(prefix=f"{NAMESPACE}.")
        asyncio.run(embedded.create_topics(bootstrap=bootstrap, topics=topics.all_topics(),
                                           partitions=topics.partitions))
        env = supervisor.service_env(base=dict(os.environ), bootstrap=bootstrap, mongodb_uri=uri, extra={
            "COMPLAINTS_TOPIC_PREFIX": f"{NAMESPACE}.", "INTAKE_MONGODB_DB": f"{NAMESPACE}_intake",
            "COMPLAINTS_LOG_LEVEL": "WARNING", "RAW_DB": f"{NAMESPACE}_raw",
            "COMPLAINTS_TELEMETRY_URI": stores["telemetry"]})
        intake = supervisor.start_service(name="intake", port=embedded.free_port(), env=env, log_dir=workdir)
        raw_port = embedded.free_port()
        raw = embedded.spawn("raw", [sys.executable, "-m", "uvicorn", "bench.raw_insert_app:create_app",
                                     "--factory", "--port", str(raw_port), "--log-level", "warning"],
                             env=env, log_path=workdir / "raw.log", cwd=Path(__file__).resolve().parents[1])
        try:
            supervisor.wait_ready([intake], timeout=90)
            embedded.wait_for_port(host="127.0.0.1", port=raw_port, timeout=30, child=raw)
            token = mint_token(secret=ServiceSettings().auth_secret, subject="bench-partner",
                               role="partner", platform=complaint(0, "x")["platform"])
            auth = {"authorization": f"Bearer {token}"}
            figures: dict[str, Any] = {"duration_s": args.duration, "concurrency": args.concurrency,
                                      "one_store": args.one_store, "runs": {}}
            counts = [0] + [int(c) for c in args.stored.split(",") if c]
            for stored in counts:
                if stored:
                    have = MongoClient(uri)[f"{NAMESPACE}_intake"]["complaints"].estimated_document_count()
                    seed(uri=uri, db=f"{NAMESPACE}_intake", count=stored - have)
                settled_s = settle(uri=uri, max_s=args.settle_max_s)
                run = f"{stored}"
                raw_fig = asyncio.run(measure(label=f"raw insert ({stored} stored)", url=f"http://127.0.0.1:{raw_port}/raw",
                                              make=lambda i, r=run: complaint(i, r), headers={},
                                              duration=args.duration, concurrency=args.concurrency))
                answered: list[tuple[float, str]] = []
                suite_fig = asyncio.run(measure(label=f"intake ({stored} stored)", url=f"{intake.url}/v1/complaints",
                                                make=lambda i, r=run: complaint(i, r), headers=auth,
                                                duration=args.duration, concurrency=args.concurrency,
                                                answered=answered))
                suite_fig["half_rate_where_the_time_went"] = where_the_time_went(uri=stores["telemetry"],
                                                                                     answered=answered)
                figures["runs"][str(stored)] = {
                    "store_settle_s": settled_s, "raw": raw_fig, "intake": suite_fig,
                    "intake_vs_raw_saturation": round(suite_fig["saturation_per_s"] / raw_fig["saturation_per_s"], 3),
                }
            base = figures["runs"]["0"]["intake"]["saturation_per_s"]
            figures["rate_change_vs_empty"] = {
                k: round(v["intake"]["saturation_per_s"] / base - 1, 3) for k, v in figures["runs"].items()}
            stored_runs = [k for k in figures["runs"] if k != "0"]
            if len(stored_runs) > 1:
                # The target compares the fewest stored complaints with the most (10k with 1M).
                first = figures["runs"][stored_runs[0]]["intake"]["saturation_per_s"]
                figures[f"rate_change_vs_{stored_runs[0]}_stored"] = {
                    k: round(figures["runs"][k]["intake"]["saturation_per_s"] / first - 1, 3) for k in stored_runs}
            for k, v in figures["runs"].items():
                console.print(f"{int(k):>9,} stored: intake {v['intake']['saturation_per_s']}/s, raw "
                              f"{v['raw']['saturation_per_s']}/s ({v['intake_vs_raw_saturation']:.0%}); at half "
                              f"rate p50 {v['intake']['at_half_rate_ms']['p50']:.0f} ms, "
                              f"p99 {v['intake']['at_half_rate_ms']['p99']:.0f} ms")
                for side in ("intake", "raw"):
                    parts = ", ".join(f"{part} {ms}"
                                      for part, ms in v[side]["cpu_ms_per_request_at_saturation"].items())
                    console.print(f"{'':>18}CPU ms per request at saturation, {side}: {parts}")

            def plot(ax: Any) -> None:
                labels = list(figures["runs"])
                ax.bar([f"raw\n{k}" for k in labels], [figures["runs"][k]["raw"]["saturation_per_s"] for k in labels])
                ax.bar([f"intake\n{k}" for k in labels],
                       [figures["runs"][k]["intake"]["saturation_per_s"] for k in labels])
                ax.set_ylabel("filings per second at saturation")
                ax.set_title("Filing over HTTP vs a bare insert (stored complaints below)")

            write_results(name="filing", figures=figures, plot=plot)
        finally:
            raw.stop()
            intake.child.stop()


if __name__ == "__main__":
    main()
