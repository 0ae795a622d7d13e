"""Bench harness: the embedded stack, load loops, percentiles, progress and result files."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import statistics
import sys
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

from shared.runtime import embedded, supervisor

OUT = Path(__file__).resolve().parent / "out"
console = Console(stderr=True)

Send = Callable[[int], Awaitable[None]]
T = TypeVar("T")


@contextmanager
def embedded_stack(*, workdir: Path) -> Iterator[tuple[str, str]]:
    """A broker and a store: the configured ones, or fresh embedded servers for this run.

    SIGTERM ends the bench like Ctrl-C does, so the servers it started are stopped too."""
    def start() -> tuple[list[embedded.Child], str]:
        child, uri = embedded.start_mongodb(data_dir=workdir / "mongodb", log_dir=workdir)
        return [child], uri

    with _servers(workdir=workdir, start_stores=start, configured=lambda uri: uri) as servers:
        yield servers


@contextmanager
def suite_stack(*, workdir: Path) -> Iterator[tuple[str, dict[str, str]]]:
    """A broker and the stores as `complaints up` has them: MONGODB_URI for every service when it
    is set, else an embedded store per service and one for spans (URIs by supervisor.STORES name)."""
    def start() -> tuple[list[embedded.Child], dict[str, str]]:
        return supervisor.start_embedded_stores(data_dir=workdir / "mongodb", log_dir=workdir)

    with _servers(workdir=workdir, start_stores=start, configured=supervisor.one_store) as servers:
        yield servers


@contextmanager
def _servers(*, workdir: Path, start_stores: Callable[[], tuple[list[embedded.Child], T]],
             configured: Callable[[str], T]) -> Iterator[tuple[str, T]]:
    """The configured broker, else an embedded one; the configured store (MONGODB_URI) as
    `configured` makes it, else what `start_stores` starts."""
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    started: list[embedded.Child] = []
    bootstrap = os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
    uri = os.environ.get("MONGODB_URI")
    try:
        if not bootstrap:
            child, bootstrap = embedded.start_kafka(log_dir=workdir)
            started.append(child)
        if uri:
            stores = configured(uri)
        else:
            children, stores = start_stores()
            started.extend(children)
        yield bootstrap, stores
    finally:
        for child in reversed(started):
            child.stop()


#: What each child process of a run is, by a word of its command line.
ROLES = ("secantus", "tansu", "services.intake", "services.evidence", "services.escalation", "services.notify",
         "raw_insert_app")


class CpuMeter:
    """CPU time each part of the stack (the store, the broker, each service) used between marks.

    The embedded store serves commands from Python threads, so it can use one core at most: its
    share of one core says how close a run is to the store's ceiling. Where each service has a
    store of its own (`suite_stack`), each is listed by its name."""

    def __init__(self) -> None:
        import psutil

        self._me = psutil.Process()
        self._last: dict[str, float] = self._totals()  # the first mark counts from here, not from each start
        self._at = time.monotonic()

    def _totals(self) -> dict[str, float]:
        totals: dict[str, float] = {}
        for child in self._me.children(recursive=True):
            try:
                line, cpu = " ".join(child.cmdline()), child.cpu_times()
            except Exception:  # gone between listing and reading
                continue
            role = next((r for r in ROLES if r in line), None)
            if role == "secantus" and (store := _store_name(line)) is not None:
                role = f"secantus-{store}"  # one of the embedded default's stores
            if role is not None:
                totals[role] = totals.get(role, 0.0) + cpu.user + cpu.system
        own = self._me.cpu_times()
        totals["load_generator"] = own.user + own.system  # this process: the bench driving the load
        return totals

    def mark(self) -> dict[str, float]:
        """Each part's share of one core (%) since the previous mark (or since the meter was made)."""
        totals, now = self._totals(), time.monotonic()
        span = max(now - self._at, 1e-6)
        shares = {role.removeprefix("services."): round(100 * (t - self._last.get(role, 0.0)) / span, 1)
                  for role, t in sorted(totals.items())}
        self._last, self._at = totals, now
        return shares


def _store_name(cmdline: str) -> str | None:
    """Which of supervisor.STORES a store process serves, from its data directory's name."""
    words = cmdline.split()
    if "--storage-path" not in words or words.index("--storage-path") + 1 >= len(words):
        return None
    name = Path(words[words.index("--storage-path") + 1]).name
    return name if name in supervisor.STORES else None


def settle(*, uri: str, fast_ms: float = 100.0, quiet_s: float = 60.0, max_s: float = 300.0) -> float:
    """Wait until the store has answered small writes quickly for quiet_s after a bulk load.

    Within a minute after hundreds of thousands of inserts the embedded store was seen to stall
    writes for 15-30 s (its own background work); a live store does not take a bulk load just
    before its busiest minute, so the benches measure after that, and report how long it took."""
    from pymongo import MongoClient

    probe = MongoClient(uri, tz_aware=True, serverSelectionTimeoutMS=30_000)["bench_settle"]["probe"]
    began = last_slow = time.monotonic()
    said, worst = 0.0, 0.0
    try:
        while time.monotonic() - last_slow < quiet_s and time.monotonic() - began < max_s:
            start = time.perf_counter()
            probe.insert_one({"at": start})
            took = (time.perf_counter() - start) * 1000
            worst = max(worst, took)
            if took >= fast_ms:
                last_slow = time.monotonic()
            if time.monotonic() - said > 10:
                console.print(f"waiting for the store to settle: slowest write so far {worst:,.0f} ms, "
                              f"{time.monotonic() - last_slow:,.0f}/{quiet_s:.0f} s quiet")
                said = time.monotonic()
            time.sleep(0.2)
    finally:
        probe.drop()
    return round(time.monotonic() - began, 1)


def percentiles(values: list[float]) -> dict[str, float]:
    """p50, p90, p99 and max of latencies in milliseconds."""
    if not values:
        return {"count": 0}
    ordered = sorted(values)

    def at(share: float) -> float:
        return round(ordered[min(len(ordered) - 1, int(share * len(ordered)))], 2)

    return {"count": len(ordered), "p50": at(0.50), "p90": at(0.90), "p99": at(0.99),
            "max": round(ordered[-1], 2), "mean": round(statistics.fmean(ordered), 2)}


def _progress() -> Progress:
    return Progress(TextColumn("{task.description}"), BarColumn(), TextColumn("{task.completed:.0f}/{task.total:.0f}"),
                    TimeRemainingColumn(), console=console, transient=True)


async def closed_loop(*, label: str, send: Send, concurrency: int, duration: float) -> tuple[float, list[float]]:
    """As many requests as `concurrency` workers can do in `duration` s: (rate/s, latencies ms)."""
    latencies: list[float] = []
    errors = 0
    counter = iter(range(10**9))
    deadline = time.monotonic() + duration

    async def worker() -> None:
        nonlocal errors
        while time.monotonic() < deadline:
            start = time.perf_counter()
            try:
                await send(next(counter))
                latencies.append((time.perf_counter() - start) * 1000)
            except Exception:  # a failed request counts as an error, not a latency
                errors += 1

    with _progress() as progress:
        task = progress.add_task(f"{label}: saturating", total=duration)
        began = time.monotonic()
        workers = [asyncio.create_task(worker()) for _ in range(concurrency)]
        while not all(w.done() for w in workers):
            progress.update(task, completed=min(duration, time.monotonic() - began))
            await asyncio.sleep(0.2)
    if errors:
        console.print(f"[yellow]{label}: {errors} failed requests[/]")
    return len(latencies) / duration, latencies


async def open_loop(*, label: str, send: Send, rate: float, duration: float) -> list[float]:
    """Requests arriving at a fixed rate whatever the answers do: latencies in ms."""
    latencies: list[float] = []
    total = int(rate * duration)
    tasks: list[asyncio.Task[None]] = []

    async def one(i: int) -> None:
        start = time.perf_counter()
        await send(i)
        latencies.append((time.perf_counter() - start) * 1000)

    with _progress() as progress:
        task = progress.add_task(f"{label}: {rate:.0f}/s", total=total)
        began = time.perf_counter()
        for i in range(total):
            delay = began + i / rate - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(one(i)))
            progress.update(task, completed=i + 1)
        await asyncio.gather(*tasks, return_exceptions=True)
    return latencies


def write_results(*, name: str, figures: dict[str, Any],
                  plot: Callable[[Any], None] | None = None) -> Path:
    """Print the figures, write them as JSON and, when asked, a PNG plot under bench/out/."""
    OUT.mkdir(exist_ok=True)
    path = OUT / f"{name}.json"
    path.write_text(json.dumps(figures, indent=2, ensure_ascii=False, default=str))
    console.print_json(json.dumps(figures, default=str))
    if plot is not None:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        fig, ax = plt.subplots(figsize=(8, 4.5))
        plot(ax)
        fig.tight_layout()
        fig.savefig(OUT / f"{name}.png", dpi=110)
        plt.close(fig)
    console.print(f"written {path}")
    return path
