"""What notify's consumer spends on a filing: commands and documents sent, the store's CPU and its own.

Starts an embedded store (its CPU is read from its process) and applies ComplaintFiled events
through notify's own handlers as its consumer does, in-process, without a broker or HTTP: groups
of --group in one shared transaction each (read ahead, handlers, commit), on a platform with one
webhook subscription, so each filing plans the buyer's and the merchant's in-app notices and a
webhook delivery (nothing is sent). Every command is counted with pymongo's command monitoring.
Prints per filing: commands and statements by collection, documents written, the store's CPU and
notify's, the wall time; writes bench/out/notify_cost.json. The CPU figures are this process's
and the store's own, so they move less with other load on the machine than a rate does.
Run: .venv/bin/python -m bench.notify_cost [--count 2048] [--group 64] [--rounds 3]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from statistics import median
from typing import Any

from bench.filing_cost import cpu_s, per_filing
from bench.harness import write_results
from bench.notify_webhooks import filed
from services.notify.config import NotifySettings
from services.notify.main import DOCUMENTS
from services.notify.service import events
from services.notify.service.subscriptions import LiveEndpoints, create_subscription
from shared import store
from shared.ledger import ProcessedEvent, ensure_ledger_ttl
from shared.outbox import OutboxEntry
from shared.runtime import embedded
from shared.store import UnitOfWork
from tests.support.store_commands import COMMANDS  # registered before any client of this run

PLATFORM = "p-bench"


def _apply(settings: NotifySettings, endpoints: LiveEndpoints, count: int, group: int) -> None:
    for start in range(0, count, group):
        batch = [filed(PLATFORM) for _ in range(min(group, count - start))]
        unit = UnitOfWork.group(atomic=True)
        events.read_ahead(batch, unit, consumer=settings.service_name)  # type: ignore[arg-type]  # ComplaintFiled is a Message
        for event in batch:
            events.handle_event(unit, event=event, settings=settings, endpoints=endpoints)
        unit.commit()


def _round(*, settings: NotifySettings, endpoints: LiveEndpoints, count: int, group: int,
           store_pid: int) -> dict[str, Any]:
    cpu0, own0, began = cpu_s(store_pid), time.process_time(), time.perf_counter()
    with COMMANDS.counting():
        _apply(settings, endpoints, count, group)
    took, cpu, own = time.perf_counter() - began, cpu_s(store_pid) - cpu0, time.process_time() - own0
    commands, statements = Counter(COMMANDS.seen), Counter(COMMANDS.statements)
    return {"seconds": took, "store_cpu_ms": cpu / count * 1000, "notify_cpu_ms": own / count * 1000,
            "commands": commands, "statements": statements}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=2048, help="filings in each round")
    parser.add_argument("--group", type=int, default=64, help="filings in one shared transaction (notify's default)")
    parser.add_argument("--rounds", type=int, default=3, help="rounds after a warm-up; the medians are printed")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        started, uri = embedded.start_mongodb(data_dir=Path(tmp) / "store", log_dir=Path(tmp))
        try:
            settings = NotifySettings(mongodb_uri=uri, mongodb_db="notify_cost")
            store.connect(uri=uri, db=settings.mongodb_db, timeout_ms=30_000)
            store.ensure_indexes(*DOCUMENTS, OutboxEntry, ProcessedEvent)
            ensure_ledger_ttl(ledger_retention_h=settings.ledger_retention_h)
            endpoints = LiveEndpoints()
            create_subscription(platform=PLATFORM, owner="bench-partner", url="https://partner.example/hook",
                                event_types=["ComplaintFiled"], description="bench", endpoints=endpoints)
            print(f"warming up, then {args.rounds} rounds of {args.count} filings in groups of {args.group}",
                  file=sys.stderr, flush=True)
            _round(settings=settings, endpoints=endpoints, count=min(256, args.count), group=args.group,
                   store_pid=started.process.pid)
            rounds = []
            for n in range(args.rounds):
                one = _round(settings=settings, endpoints=endpoints, count=args.count, group=args.group,
                             store_pid=started.process.pid)
                rounds.append(one)
                print(f"round {n + 1}: {args.count / one['seconds']:.0f} filings/s; CPU a filing: notify "
                      f"{one['notify_cpu_ms']:.2f} ms, store {one['store_cpu_ms']:.2f} ms", flush=True)
        finally:
            started.stop()
    last = rounds[-1]
    commands, statements = last["commands"], last["statements"]
    print("per filing (last round): commands / statements (documents of an insert, updates of an update)")
    counted = per_filing(commands, statements, args.count)
    figures = {"count": args.count, "group": args.group,
               "notify_cpu_ms_per_filing": round(median(r["notify_cpu_ms"] for r in rounds), 3),
               "store_cpu_ms_per_filing": round(median(r["store_cpu_ms"] for r in rounds), 3),
               "filings_per_s": round(median(args.count / r["seconds"] for r in rounds), 1),
               **counted, "at": datetime.now(UTC).isoformat()}
    print(f"median of {args.rounds} rounds: {figures['filings_per_s']:.0f} filings/s; CPU a filing: notify "
          f"{figures['notify_cpu_ms_per_filing']:.2f} ms, store {figures['store_cpu_ms_per_filing']:.2f} ms; "
          f"{counted['written_per_filing']:.2f} documents written a filing")
    write_results(name="notify_cost", figures=figures)


if __name__ == "__main__":
    if os.environ.get("MONGODB_URI"):
        raise SystemExit("the store's CPU is read from its process: run without MONGODB_URI")
    main()
