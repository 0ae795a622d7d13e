"""How long the embedded store's TTL sweep holds writes, by the size of a TTL-indexed collection.

Starts an embedded store as `complaints up` does, fills a ledger-like collection (`processed_events`
with its TTL index, nothing expired) with --entries documents, then makes one small insert at a time
into another collection for --seconds (longer than the store's 60 s sweep interval) and prints the
median and the longest wait. The sweep reads every document of each TTL-indexed collection under
the store's global lock, expired or not. Writes bench/out/store_ttl_pause.json.
Run: .venv/bin/python -m bench.store_ttl_pause [--entries 20000] [--seconds 70]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from pymongo import MongoClient
from rich.console import Console
from rich.progress import Progress

from bench.harness import write_results
from shared.runtime import embedded

console = Console(stderr=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=20_000, help="documents in the TTL-indexed collection")
    parser.add_argument("--seconds", type=float, default=70.0, help="how long to write (the sweep runs every 60 s)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        started, uri = embedded.start_mongodb(data_dir=Path(tmp) / "store", log_dir=Path(tmp))
        try:
            client: MongoClient = MongoClient(uri)
            db = client["ttl_pause"]
            ledger = db["processed_events"]
            ledger.create_index("processed_at", name="processed_at_ttl", expireAfterSeconds=14 * 24 * 3600)
            now = datetime.now(UTC)
            with Progress(console=console, transient=True) as progress:
                task = progress.add_task("filling the ledger", total=args.entries)
                for start in range(0, args.entries, 1000):
                    ledger.insert_many([{"_id": f"notify:e{i}", "consumer": "notify", "event_id": f"e{i}",
                                         "event_type": "ComplaintFiled", "processed_at": now}
                                        for i in range(start, min(start + 1000, args.entries))])
                    progress.update(task, completed=min(start + 1000, args.entries))
                waits: list[float] = []
                task = progress.add_task("one insert at a time", total=args.seconds)
                began = time.monotonic()
                while (elapsed := time.monotonic() - began) < args.seconds:
                    one = time.perf_counter()
                    db["other"].insert_one({"at": elapsed})
                    waits.append(time.perf_counter() - one)
                    progress.update(task, completed=elapsed)
        finally:
            started.stop()
    waits.sort()
    figures = {"entries": args.entries, "seconds": args.seconds, "inserts": len(waits),
               "median_ms": round(waits[len(waits) // 2] * 1000, 2), "longest_ms": round(waits[-1] * 1000, 1),
               "at": datetime.now(UTC).isoformat()}
    print(f"{args.entries} TTL-indexed documents: {len(waits)} inserts in {args.seconds:.0f} s, median "
          f"{figures['median_ms']:.2f} ms, longest {figures['longest_ms']:.0f} ms")
    write_results(name="store_ttl_pause", figures=figures)


if __name__ == "__main__":
    main()
