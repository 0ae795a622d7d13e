"""What a settlement costs the store: CPU per document for inserting notifications, then settling
them in a transaction one of three ways: one update statement each guarded in its filter by lease
and state (a bulk write of UpdateOne), one guarded `update_many` per slice of ids, the guard
read first (the ids a slice, lease and state only) and each written by its id alone (as notify
claims), or read first and written a slice of ids a statement (as notify settles:
services/notify/repository/deliveries.py, `_held`).

Starts an embedded store (or uses MONGODB_URI: then its CPU is not measured, only the wall time).
Run: .venv/bin/python -m bench.store_updates [--docs 256] [--rounds 6]
Prints the figures and writes bench/out/store_updates.json. The ways alternate round by round, so
a change of the machine's pace weighs on each alike.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pymongo import MongoClient, UpdateMany, UpdateOne
from rich.progress import Progress

from bench.harness import console, write_results
from services.notify.models import Notification
from shared.envelope import new_id
from shared.runtime import embedded
from shared.store.by_ids import SLICE, find_by_ids

WAYS = ("insert", "update_one_each", "update_many_slices", "read_then_update_by_id", "read_then_update_many_by_ids")


def rows(count: int) -> list[dict[str, Any]]:
    """Webhook deliveries as notify records them: leased, pending, with their body."""
    now = datetime.now(UTC)
    return [{"_id": f"d-{new_id()}", "event_id": f"e-{new_id()}", "event_type": "ComplaintFiled",
             "recipient_key": "p:partner:s1", "recipient_id": "s1", "recipient_role": "partner", "channel": "webhook",
             "language": "zh-CN", "subscription_id": "s1", "subject": "filed", "body": "filed", "payload": "x" * 1200,
             "state": "pending", "attempts": 0, "next_attempt_at": now, "lease_until": now, "lease_token": "t",
             "created_at": now} for _ in range(count)]


def settle(client: MongoClient, coll: Any, ids: list[str], *, way: str) -> None:
    """Settle the deliveries as delivered, in one transaction, one way or the other."""
    now = datetime.now(UTC)
    changes = {"$set": {"state": "delivered", "delivered_at": now, "lease_until": now, "last_error": None},
               "$inc": {"attempts": 1}}
    guard = {"lease_token": "t", "state": "pending"}
    with client.start_session() as session, session.start_transaction():
        if way.startswith("read_then"):
            held = [d["_id"] for d in find_by_ids(coll, ids, projection={"lease_token": 1, "state": 1},
                                                  session=session)
                    if all(d.get(field) == value for field, value in guard.items())]
            statements: list[Any] = [UpdateOne({"_id": one}, changes) for one in held] \
                if way == "read_then_update_by_id" else [UpdateMany({"_id": {"$in": held[low:low + SLICE]}}, changes)
                                                          for low in range(0, len(held), SLICE)]
        elif way == "update_one_each":
            statements = [UpdateOne({"_id": one, **guard}, changes) for one in ids]
        else:
            statements = [UpdateMany({"_id": {"$in": ids[low:low + SLICE]}, **guard}, changes)
                          for low in range(0, len(ids), SLICE)]
        coll.bulk_write(statements, ordered=True, session=session)


def main() -> None:
    """Measure each way over the rounds and print CPU (and wall) time per document."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs", type=int, default=256, help="notifications per round")
    parser.add_argument("--rounds", type=int, default=6, help="rounds of each way")
    args = parser.parse_args()
    uri, child = os.environ.get("MONGODB_URI"), None
    if not uri:
        workdir = Path(tempfile.mkdtemp(prefix="store-updates-"))
        child, uri = embedded.start_mongodb(data_dir=workdir / "db", log_dir=workdir)
    store_pid = child.process.pid if child is not None else None

    def store_cpu() -> float:
        if store_pid is None:
            return 0.0
        fields = Path(f"/proc/{store_pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    spent = {way: {"cpu_s": 0.0, "wall_s": 0.0, "docs": 0} for way in WAYS}
    try:
        client: MongoClient = MongoClient(uri)
        coll = client[f"bench_{new_id()[:8]}"][Notification._get_collection_name()]
        for index in Notification._meta["index_specs"]:  # the collection's own indexes
            coll.create_index(list(index["fields"]))
        with Progress(console=console, transient=True) as progress:
            settles = WAYS[1:]
            task = progress.add_task("rounds", total=args.rounds * len(settles))
            for number in range(args.rounds):
                # Rotate which update way goes first.
                for way in settles[number % len(settles):] + settles[:number % len(settles)]:
                    batch = rows(args.docs)
                    cpu, wall = store_cpu(), time.perf_counter()
                    coll.insert_many(batch)
                    inserted_cpu, inserted_wall = store_cpu(), time.perf_counter()
                    settle(client, coll, [one["_id"] for one in batch], way=way)
                    spent["insert"]["cpu_s"] += inserted_cpu - cpu
                    spent["insert"]["wall_s"] += inserted_wall - wall
                    spent["insert"]["docs"] += args.docs
                    spent[way]["cpu_s"] += store_cpu() - inserted_cpu
                    spent[way]["wall_s"] += time.perf_counter() - inserted_wall
                    spent[way]["docs"] += args.docs
                    progress.advance(task)
        client.close()
    finally:
        if child is not None:
            child.stop()
    figures: dict[str, Any] = {
        "docs_per_round": args.docs, "rounds_each": args.rounds, "slice": SLICE,
        "store_cpu_measured": store_pid is not None,
        **{f"{way}_store_cpu_ms_per_doc": round(1000 * one["cpu_s"] / one["docs"], 3) for way, one in spent.items()},
        **{f"{way}_wall_ms_per_doc": round(1000 * one["wall_s"] / one["docs"], 3) for way, one in spent.items()},
    }
    many, each = figures["update_many_slices_store_cpu_ms_per_doc"], figures["update_one_each_store_cpu_ms_per_doc"]
    if store_pid is not None and each:
        figures["update_many_slices_vs_update_one_each_cpu"] = round(many / each, 2)
        for way in ("read_then_update_by_id", "read_then_update_many_by_ids"):
            figures[f"{way}_vs_update_one_each_cpu"] = round(figures[f"{way}_store_cpu_ms_per_doc"] / each, 2)
    write_results(name="store_updates", figures=figures)


if __name__ == "__main__":
    main()
