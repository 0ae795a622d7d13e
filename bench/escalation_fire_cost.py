"""What one timer fire costs the store: statements written per fire, store CPU per fire, fires/s, in-process.

Starts an embedded store (or uses MONGODB_URI), seeds --due cases whose first-response warning
or breach (alternately) is due now, exactly as `bench.escalation_timers --burst` does, and fires
them in this process with the service's own firing code (`firing.fire_due`; --instances threads,
each as one instance; no broker). Every command the firing sends is counted with pymongo's
command monitoring, by command and collection, with its statements (an update's updates, an
insert's documents). The relay's settle (marking the fired events' outbox entries published) is
run after, as the relay does it, and measured apart. Prints commands and statements per fire, the
store's CPU per fire and fires/s, and saves them to bench/out/; --profile records the store with
py-spy while it fires.
Run: .venv/bin/python -m bench.escalation_fire_cost [--due 400] [--instances 1] [--group 50] [--batch 200]
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from pymongo import MongoClient

from bench.escalation_timers import plan_backlog, plan_burst, seed
from bench.harness import embedded_stack, write_results
from services.escalation.config import EscalationSettings
from services.escalation.models import Case, Timer
from services.escalation.repository import claims
from services.escalation.service import firing
from services.escalation.service.rules import load_rules
from shared import store
from shared.ledger import ProcessedEvent
from shared.outbox import PENDING, OutboxEntry
from shared.outbox.relay import OutboxRelay
from shared.store import UnitOfWork
from tests.support.store_commands import COMMANDS  # registered before any client of this run

WRITES = {"insert", "update", "delete", "findAndModify"}


def _say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def _cpu_s(pid: int) -> float:
    """User + system CPU seconds of a process and its children so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return sum(int(v) for v in fields[11:15]) / os.sysconf("SC_CLK_TCK")


def _store_pid(port: int) -> int | None:
    """The embedded store's process, found by its port on its command line."""
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                cmd = (entry / "cmdline").read_bytes().split(b"\0")
            except OSError:
                continue
            if b"secantus" in b" ".join(cmd) and str(port).encode() in cmd:
                return int(entry.name)
    return None


def _venv_tool(name: str) -> str | None:
    tool = Path(sys.executable).parent / name
    return str(tool) if tool.exists() else None


def _table(title: str, commands: Counter, statements: Counter, fires: int) -> list[str]:
    lines = [f"{title} (per fire: commands / statements)"]
    for key in sorted(statements, key=lambda k: -statements[k]):
        lines.append(f"  {key[0]:>10} {key[1]:<14} {commands[key] / fires:6.3f} / {statements[key] / fires:6.3f}")
    writes = sum(n for k, n in statements.items() if k[0] in WRITES)
    lines.append(f"  written statements per fire: {writes / fires:.2f}; "
                 f"requests per fire: {sum(commands.values()) / fires:.2f}")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--due", type=int, default=400, help="cases due at once")
    parser.add_argument("--backlog", type=int, default=2000, help="open cases with nothing due")
    parser.add_argument("--group", type=int, default=EscalationSettings().timer_group_size,
                        help="timers fired per transaction")
    parser.add_argument("--batch", type=int, default=EscalationSettings().timer_batch_size,
                        help="timers claimed per round")
    parser.add_argument("--instances", type=int, default=1, help="firing threads, each as one instance")
    parser.add_argument("--profile", type=Path, default=None,
                        help="py-spy the store while it fires: collapsed stacks written to this file")
    args = parser.parse_args()
    settings = EscalationSettings()
    with tempfile.TemporaryDirectory() as tmp, embedded_stack(workdir=Path(tmp)) as (_, uri):
        db_name = "fire_cost_escalation"
        store.connect(uri=uri, db=db_name, timeout_ms=30_000)
        store.ensure_indexes(Case, Timer, OutboxEntry, ProcessedEvent)
        db = MongoClient(uri, tz_aware=True)[db_name]
        now = datetime.now(UTC)
        seed(db=db, plans=plan_backlog(count=args.backlog, now=now), batch=1000, label="backlog", templates=50)
        plans, dues = plan_burst(count=args.due, start=datetime.now(UTC) + timedelta(seconds=1))
        seed(db=db, plans=plans, batch=1000, label="due", offset=args.backlog, templates=2)
        time.sleep(max(0.0, (dues[0] - datetime.now(UTC)).total_seconds() + 0.01))  # the firing is timed from due
        pid = _store_pid(int(uri.rsplit(":", 1)[1].split("/")[0].split("?")[0]))
        rules = load_rules(settings=settings)
        unit, fired, lock = UnitOfWork.standalone(), [0], threading.Lock()

        def on_fired(_timer: dict[str, Any], _at: datetime) -> None:
            with lock:
                fired[0] += 1

        _say(f"firing {args.due} due timers in groups of {args.group}, {args.batch} a claim, "
             f"{args.instances} instance(s)")
        spy = None
        if args.profile is not None and pid and (exe := shutil.which("py-spy") or _venv_tool("py-spy")):
            spy = subprocess.Popen([exe, "record", "--pid", str(pid), "--format", "raw", "--rate", "200",
                                    "-o", str(args.profile)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            time.sleep(1.0)
        cpu0, began, own0 = (_cpu_s(pid) if pid else 0.0), time.perf_counter(), time.process_time()
        rounds, by_owner = [0], Counter()

        def instance(owner: str) -> None:
            scan = claims.DueScan()
            while fired[0] < args.due and time.perf_counter() - began < 600:
                try:
                    claimed = firing.fire_due(unit, owner=owner, lease_s=30.0, limit=args.batch, group=args.group,
                                              rules=rules, topic="bench.escalation.events", scan=scan,
                                              on_fired=on_fired)
                except Exception as exc:  # as the timer loop does: said, and the leases run out
                    _say(f"  {owner}: round failed: {exc!r}")
                    claimed = 0
                rounds[0] += 1
                by_owner[owner] += claimed
                if not claimed:
                    time.sleep(0.05)

        workers = [threading.Thread(target=instance, args=(f"probe-{n}",)) for n in range(args.instances)]
        with COMMANDS.counting():
            for worker in workers:
                worker.start()
            for worker in workers:
                worker.join()
        fire_cmds, fire_stmts = Counter(COMMANDS.seen), Counter(COMMANDS.statements)
        took, cpu = time.perf_counter() - began, (_cpu_s(pid) if pid else 0.0) - cpu0
        own = time.process_time() - own0
        if spy is not None:
            spy.send_signal(signal.SIGINT)
            spy.wait(timeout=60)
        # The relay's settle: the entries written by the fires, marked published in batches as it does.
        outbox = db[OutboxEntry._get_collection_name()]
        ids = [d["_id"] for d in outbox.find({"state": PENDING}, {"_id": 1})]
        batch = settings.outbox_batch_size
        relay = OutboxRelay(publish=None, batch_size=batch, poll_interval_s=1.0,  # type: ignore[arg-type]
                            max_attempts=settings.outbox_max_attempts)
        cpu1, settle_began = (_cpu_s(pid) if pid else 0.0), time.perf_counter()
        for low in range(0, len(ids), batch):
            relay._settle(ids[low:low + batch], [])
        settle_took, settle_cpu = time.perf_counter() - settle_began, (_cpu_s(pid) if pid else 0.0) - cpu1
        n = max(fired[0], 1)
        lines = [f"fired {fired[0]}/{args.due} in {took:.1f} s ({fired[0] / took:.1f} fires/s), {rounds[0]} rounds, "
                 f"claimed by instance {sorted(by_owner.values())}; "
                 f"store CPU {cpu:.1f} s ({cpu / n * 1000:.1f} ms a fire), "
                 f"firing process CPU {own / n * 1000:.1f} ms a fire",
                 *_table("firing", fire_cmds, fire_stmts, n),
                 f"relay settle of {len(ids)} entries: {settle_took:.2f} s, store CPU {settle_cpu / n * 1000:.1f} ms "
                 f"a fire ({len(ids) / n:.2f} entries a fire)",
                 f"store CPU a fire, all told (firing and settle): {(cpu + settle_cpu) / n * 1000:.1f} ms"]
        for line in lines:
            print(line, flush=True)
        figures = {"due": args.due, "instances": args.instances, "group": args.group, "batch": args.batch,
                   "fired": fired[0],
                   "seconds": round(took, 2), "fires_per_s": round(fired[0] / took, 1),
                   "store_cpu_ms_per_fire": round(cpu / n * 1000, 2),
                   "service_cpu_ms_per_fire": round(own / n * 1000, 2),
                   "settle_store_cpu_ms_per_fire": round(settle_cpu / n * 1000, 2),
                   "outbox_entries_per_fire": round(len(ids) / n, 3),
                   "all_told_store_cpu_ms_per_fire": round((cpu + settle_cpu) / n * 1000, 2),
                   "commands_per_fire": {f"{k[0]} {k[1]}": round(v / n, 3) for k, v in fire_cmds.items()},
                   "statements_per_fire": {f"{k[0]} {k[1]}": round(v / n, 3) for k, v in fire_stmts.items()},
                   "at": datetime.now(UTC).isoformat()}
    write_results(name=f"escalation_fire_cost_{args.due}_g{args.group}", figures=figures)


if __name__ == "__main__":
    main()
