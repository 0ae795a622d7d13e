"""`complaints outbox list|redrive`: see the events a service could not publish, and set them going again.

An entry is marked failed after OUTBOX_MAX_ATTEMPTS publishes that failed (its `last_error` says
why); it is kept, never dropped. Re-driving sets it pending with fresh attempts, and the relay of
any running instance of the service publishes it on its next poll (OUTBOX_POLL_INTERVAL_S).
"""

from __future__ import annotations

import functools
import json
import os
import time
from collections.abc import Callable
from typing import Any, TypeVar

import typer
from pymongo.errors import PyMongoError
from rich.console import Console
from rich.table import Table

from shared import store
from shared.outbox import FAILED, PENDING, PUBLISHED, redrive_entries, states_of, unpublished
from shared.runtime.recovery.clients import console, fail
from shared.runtime.supervisor import SERVICES

app = typer.Typer(help="The outbox of each service: list what is not out, re-drive failed entries.",
                  no_args_is_help=True)
T = TypeVar("T")

SERVICE = typer.Option(None, "--service", help=f"One of {', '.join(SERVICES)} (default: all)")
URI = typer.Option(None, "--mongodb-uri", help="The service's store (default: MONGODB_URI)")


def database_of(service: str) -> str:
    """The service's database: <SERVICE>_MONGODB_DB, else its default name."""
    return os.environ.get(f"{service.upper()}_MONGODB_DB", f"complaints_{service}")


def services(service: str | None) -> list[str]:
    if service is None:
        return list(SERVICES)
    if service not in SERVICES:
        fail(f"--service {service!r} is not a service of this suite", todo=f"name one of {', '.join(SERVICES)}", code=2)
    return [service]


def in_store(service: str, uri: str | None, work: Callable[[], T]) -> T:
    """Run `work` connected to the service's database; a store that does not answer ends the command."""
    uri = uri or os.environ.get("MONGODB_URI", "mongodb://127.0.0.1:27017/?directConnection=true")
    db = database_of(service)
    try:
        store.connect(uri=uri, db=db, timeout_ms=5000)
        return work()
    except PyMongoError as exc:
        fail(f"cannot read {service}'s outbox in {db} at {uri.split('@')[-1]}: {type(exc).__name__}: {str(exc)[:200]}",
             todo="check MONGODB_URI (or --mongodb-uri) and <SERVICE>_MONGODB_DB, and that the store runs")


@app.command("list")
def list_(service: str | None = SERVICE, failed: bool = typer.Option(False, "--failed", help="Failed entries only"),
          mongodb_uri: str | None = URI,
          as_json: bool = typer.Option(False, "--json", help="One JSON object per line instead of a table")) -> None:
    """The entries not yet published (pending and failed; `--failed`: failed only), oldest first."""
    states = (FAILED,) if failed else (PENDING, FAILED)
    table = Table(title="outbox: " + ("failed entries" if failed else "entries not published"))
    for column in ("service", "id", "state", "topic", "type", "key", "attempts", "created", "last error"):
        table.add_column(column, overflow="fold")
    count = 0
    for name in services(service):
        with console.status(f"reading {name}'s outbox…"):
            entries = in_store(name, mongodb_uri, lambda: unpublished(states=states))
        for entry in entries:
            count += 1
            if as_json:
                typer.echo(json.dumps({"service": name, **entry}, default=str, ensure_ascii=False))
                continue
            table.add_row(name, entry["_id"], entry["state"], entry["topic"], entry["message_type"], entry["key"],
                          str(entry.get("attempts", 0)), f"{entry['created_at']:%Y-%m-%d %H:%M:%S}",
                          (entry.get("last_error") or "")[:200])
    if not as_json:
        Console().print(table)
    console.print(f"{count} entries")


@app.command()
def redrive(service: str | None = SERVICE, ids: list[str] | None = typer.Option(
                None, "--id", help="An entry to send again, failed or published (repeatable; default: all failed)"),
            wait: float = typer.Option(30.0, min=0, help="Seconds to wait for the relays to publish them (0: no wait)"),
            mongodb_uri: str | None = URI) -> None:
    """Set failed entries (or the ones named) pending again; a running relay publishes them; wait for it."""
    redriven: dict[str, list[str]] = {}
    for name in services(service):
        with console.status(f"re-driving {name}'s outbox…"):
            redriven[name] = in_store(name, mongodb_uri, lambda: redrive_entries(ids=ids))
        console.print(f"[green]✓[/] {name}: {len(redriven[name])} entries set pending again")
    if ids:
        found = {i for done in redriven.values() for i in done}
        missing = [i for i in ids if i not in found]
        if missing:
            fail(f"not re-driven (no such entry, or pending already): {', '.join(missing)}",
                 todo="see the entries with `complaints outbox list`")
    if not wait or not any(redriven.values()):
        return
    deadline = time.monotonic() + wait
    left: dict[str, Any] = {}
    with console.status("waiting for the relays to publish them…") as status:
        while time.monotonic() < deadline:
            left = {name: [i for i, state in in_store(name, mongodb_uri, functools.partial(states_of, done)).items()
                           if state != PUBLISHED] for name, done in redriven.items() if done}
            waiting = sum(len(v) for v in left.values())
            if not waiting:
                console.print("[green]✓[/] every re-driven entry is published")
                return
            status.update(f"waiting for the relays to publish them… {waiting} left")
            time.sleep(0.5)
    named = "; ".join(f"{name}: {', '.join(v)}" for name, v in left.items() if v)
    fail(f"not published within {wait:.0f}s: {named}",
         todo="check that the service runs and reaches the broker (its /readyz); `complaints outbox list` shows "
              "each entry's last error")
