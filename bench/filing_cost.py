"""What one filing costs: commands and documents it writes and reads, the store's CPU and intake's, in-process.

Starts an embedded store (or uses MONGODB_URI) and files complaints through intake's own use case
(`service.file_complaint`, the filing desk as intake wires it: group commit, tally read, ticket
block), without HTTP or a broker: first --count one at a time, then --count from --threads
threads at once (as concurrent requests group their commits). Every command is counted with
pymongo's command monitoring, by command and collection, with its statements (an insert's
documents, an update's updates). Prints per filing: commands, statements, documents written,
the store's CPU and this process's CPU, and the wall time; with --statements, the store's CPU for a
transaction of each statement alone and of all of them; saves them to bench/out/.
Run: .venv/bin/python -m bench.filing_cost [--count 300] [--threads 8] [--statements]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pymongo import MongoClient

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


def cpu_s(pid: int) -> float:
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
    cpu0, own0, began = cpu_s(store_pid), time.process_time(), time.perf_counter()
    with COMMANDS.counting():
        for w in workers:
            w.start()
        for w in workers:
            w.join()
    took, cpu, own = time.perf_counter() - began, cpu_s(store_pid) - cpu0, time.process_time() - own0
    commands, statements = Counter(COMMANDS.seen), Counter(COMMANDS.statements)
    n = max(done[0], 1)
    print(f"{name}: {done[0]} filings in {took:.2f} s ({done[0] / took:.0f}/s, {took / n * 1000:.2f} ms each "
          f"end to end); store CPU {cpu / n * 1000:.2f} ms a filing, intake's {own / n * 1000:.2f} ms", flush=True)
    print("  per filing: commands / statements", flush=True)
    counted = per_filing(commands, statements, n)
    print(f"  written statements (documents) per filing {counted['written_per_filing']:.2f}; requests per filing "
          f"{sum(commands.values()) / n:.2f}", flush=True)
    return {"filings": done[0], "threads": threads, "seconds": round(took, 2),
            "store_cpu_ms_per_filing": round(cpu / n * 1000, 2), "intake_cpu_ms_per_filing": round(own / n * 1000, 2),
            "wall_ms_per_filing": round(took / n * 1000, 2), **counted}


def per_filing(commands: Counter[tuple[str, str]], statements: Counter[tuple[str, str]], n: int) -> dict[str, Any]:
    """Print the commands and statements per filing by (command, collection), most statements first;
    returns them with the documents written per filing (inserted, updated, deleted)."""
    for key in sorted(statements, key=lambda k: (-statements[k], k)):
        print(f"  {key[0]:>17} {key[1]:<22} {commands[key] / n:6.3f} / {statements[key] / n:6.3f}", flush=True)
    return {"written_per_filing": round(sum(v for k, v in statements.items() if k[0] in WRITES) / n, 2),
            "commands_per_filing": {f"{k[0]} {k[1]}": round(v / n, 3) for k, v in commands.items()},
            "statements_per_filing": {f"{k[0]} {k[1]}": round(v / n, 3) for k, v in statements.items()}}


#: What a filing's transaction writes, statement by statement, as `--statements` sends them.
PARTS = ("read tally", "slot", "tally", "complaint", "waits", "outbox")


def _statements(*, uri: str, db_name: str, store_pid: int, count: int) -> dict[str, float]:
    """The store's CPU (ms) for a transaction holding each of a filing's statements alone, copied
    from the documents the filings stored, then for one holding them all: what each costs."""
    client: MongoClient[dict[str, Any]] = MongoClient(uri, tz_aware=True)
    db = client[db_name]
    copy = {name: db[collection].find_one() or {} for name, collection in (
        ("slot", "open_complaints"), ("complaint", "complaints"), ("wait", "complaint_waits"), ("outbox", "outbox"))}
    tally = db["merchant_open_tallies"].find_one() or {}

    def send(parts: tuple[str, ...]) -> float:
        began = cpu_s(store_pid)
        for _ in range(count):
            key = uuid.uuid4().hex
            with client.start_session() as session, session.start_transaction():
                if "read tally" in parts:
                    list(db["merchant_open_tallies"].find({"merchant": tally.get("merchant")}, session=session))
                if "slot" in parts:
                    db["open_complaints"].insert_one(dict(copy["slot"], _id=key, complaint_id=key), session=session)
                if "tally" in parts:
                    db["merchant_open_tallies"].update_one({"_id": tally.get("_id")}, {"$inc": {"open": 0}},
                                                           session=session)
                if "complaint" in parts:
                    db["complaints"].insert_one(dict(copy["complaint"], _id=key, ticket=key), session=session)
                if "waits" in parts:
                    db["complaint_waits"].insert_many([dict(copy["wait"], _id=f"{key}:{n}", complaint_id=key)
                                                       for n in range(3)], session=session)
                if "outbox" in parts:
                    db["outbox"].insert_one(dict(copy["outbox"], _id=key), session=session)
        return round((cpu_s(store_pid) - began) / count * 1000, 2)

    figures = {part: send((part,)) for part in PARTS}
    figures["all in one transaction"] = send(PARTS)
    for name, ms in figures.items():
        print(f"  a transaction of {name}: the store's CPU {ms:.2f} ms", flush=True)
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=300, help="filings in each phase")
    parser.add_argument("--threads", type=int, default=8, help="filing threads in the concurrent phase")
    parser.add_argument("--statements", action="store_true",
                        help="also the store's CPU for a transaction of each of a filing's statements alone")
    args = parser.parse_args()
    statements: dict[str, float] = {}
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
            if args.statements:
                statements = _statements(uri=uri, db_name=settings.mongodb_db, store_pid=pid, count=args.count)
        finally:
            if started is not None:
                started.stop()
    write_results(name="filing_cost", figures={"alone": alone, "together": together, "statements": statements,
                                               "at": datetime.now(UTC).isoformat()})


if __name__ == "__main__":
    main()
