"""What one filing costs: commands and documents it writes and reads, the store's CPU and intake's, in-process.

Starts an embedded store (or uses MONGODB_URI) and files complaints through intake's own use case
(`service.file_complaint`, the filing desk as intake wires it: group commit, tally read, ticket
block), without HTTP or a broker: first --count one at a time, then --count from --threads
threads at once (as concurrent requests group their commits). Every command is counted with
pymongo's command monitoring, by command and collection, with its statements (an insert's
documents, an update's updates). Prints per filing: commands, statements, documents written,
the store's CPU and this process's CPU, and the wall time; saves them to bench/out/.
Run: .venv/bin/python -m bench.filing_cost [--count 300] [--threads 8]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import threading
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.harness import write_results
from services.intake import models, repository, service
from services.intake.config import IntakeSettings
from services.intake.domain.schemas import NewComplaint
from services.intake.repository.tickets import TicketNumbers
from shared import store
from shared.idempotency import IdempotentResponse
from shared.ledger import ProcessedEvent
from shared.outbox import OutboxEntry
from shared.runtime import embedded
from shared.store import GroupCommit
from tests.support.samples import sample_complaint
from tests.support.store_commands import COMMANDS  # registered before any client of this run

WRITES = {"insert", "update", "delete", "findAndModify"}
FILER = {"role": "partner", "subject": "bench-partner", "platform": "kamen-1"}


def _say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def _cpu_s(pid: int) -> float:
    """User + system CPU seconds of a process so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return sum(int(v) for v in fields[11:13]) / os.sysconf("SC_CLK_TCK")


def _requests(count: int, run: str) -> list[NewComplaint]:
    """Distinct complaints (own order numbers) against one shop, validated as the route does."""
    return [NewComplaint.model_validate(sample_complaint("complaint_invalid_key_zh.json",
                                                         **{"order.number": f"C{run}{i:09d}"}))
            for i in range(count)]


def _phase(*, name: str, requests: list[NewComplaint], threads: int, desk: service.FilingDesk,
           settings: IntakeSettings, store_pid: int) -> dict[str, Any]:
    """File the requests from `threads` threads; commands, statements and CPU per filing."""
    todo, lock = iter(requests), threading.Lock()
    done = [0]
    unit = store.UnitOfWork.standalone()

    def worker() -> None:
        while True:
            with lock:
                request = next(todo, None)
            if request is None:
                return
            service.file_complaint(unit, desk=desk, request=request, settings=settings, filed_by=FILER)
            with lock:
                done[0] += 1

    workers = [threading.Thread(target=worker) for _ in range(threads)]
    cpu0, own0, began = _cpu_s(store_pid), time.process_time(), time.perf_counter()
    with COMMANDS.counting():
        for w in workers:
            w.start()
        for w in workers:
            w.join()
    took, cpu, own = time.perf_counter() - began, _cpu_s(store_pid) - cpu0, time.process_time() - own0
    commands, statements = Counter(COMMANDS.seen), Counter(COMMANDS.statements)
    n = max(done[0], 1)
    print(f"{name}: {done[0]} filings in {took:.2f} s ({done[0] / took:.0f}/s, {took / n * 1000:.2f} ms each "
          f"end to end); store CPU {cpu / n * 1000:.2f} ms a filing, intake's {own / n * 1000:.2f} ms", flush=True)
    print("  per filing: commands / statements", flush=True)
    for key in sorted(statements, key=lambda k: (-statements[k], k)):
        print(f"  {key[0]:>17} {key[1]:<22} {commands[key] / n:6.3f} / {statements[key] / n:6.3f}", flush=True)
    written = sum(v for k, v in statements.items() if k[0] in WRITES)
    print(f"  written statements (documents) per filing {written / n:.2f}; requests per filing "
          f"{sum(commands.values()) / n:.2f}", flush=True)
    return {"filings": done[0], "threads": threads, "seconds": round(took, 2),
            "store_cpu_ms_per_filing": round(cpu / n * 1000, 2), "intake_cpu_ms_per_filing": round(own / n * 1000, 2),
            "wall_ms_per_filing": round(took / n * 1000, 2), "written_per_filing": round(written / n, 2),
            "commands_per_filing": {f"{k[0]} {k[1]}": round(v / n, 3) for k, v in commands.items()},
            "statements_per_filing": {f"{k[0]} {k[1]}": round(v / n, 3) for k, v in statements.items()}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=300, help="filings in each phase")
    parser.add_argument("--threads", type=int, default=8, help="filing threads in the concurrent phase")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        started = None
        uri = os.environ.get("MONGODB_URI")
        if not uri:
            started, uri = embedded.start_mongodb(data_dir=Path(tmp) / "store", log_dir=Path(tmp))
        try:
            settings = IntakeSettings(mongodb_uri=uri, mongodb_db="filing_cost_intake")
            store.connect(uri=uri, db=settings.mongodb_db, timeout_ms=30_000)
            store.ensure_indexes(OutboxEntry, ProcessedEvent, IdempotentResponse, *(
                getattr(models, name) for name in ("Complaint", "ComplaintStep", "ComplaintWait", "TicketSequence",
                                                   "OpenComplaint", "MerchantTally", "CommandReply")))
            desk = service.FilingDesk(commits=GroupCommit(name="filing"), tallies=repository.slots.tallies(),
                                      tickets=TicketNumbers())
            pid = started.process.pid if started else None
            if pid is None:
                raise SystemExit("the store's CPU is read from its process: run without MONGODB_URI")
            run = datetime.now(UTC).strftime("%H%M%S")
            _say(f"warming up, then {args.count} filings alone and {args.count} from {args.threads} threads")
            _phase(name="warm-up", requests=_requests(50, f"w{run}"), threads=1, desk=desk, settings=settings,
                   store_pid=pid)
            alone = _phase(name="one at a time", requests=_requests(args.count, f"a{run}"), threads=1, desk=desk,
                           settings=settings, store_pid=pid)
            together = _phase(name=f"{args.threads} at a time", requests=_requests(args.count, f"t{run}"),
                              threads=args.threads, desk=desk, settings=settings, store_pid=pid)
        finally:
            if started is not None:
                started.stop()
    write_results(name="filing_cost", figures={"alone": alone, "together": together,
                                               "at": datetime.now(UTC).isoformat()})


if __name__ == "__main__":
    main()
