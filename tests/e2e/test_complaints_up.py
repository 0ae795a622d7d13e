"""`complaints up`: one command starts everything, Ctrl-C leaves nothing, data survives a restart."""

from __future__ import annotations

import os
import random
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from shared.auth import mint_token
from shared.runtime import embedded
from shared.runtime.supervisor import SERVICES, STORES, consumed_partitions, partitions_split
from shared.settings import ServiceSettings
from shared.topics import TopicSettings
from tests.support.samples import sample_complaint
from tests.support.waiting import wait_until

pytestmark = pytest.mark.e2e



def _free_ports() -> int:
    # Below the kernel's ephemeral range: otherwise a client connection made while `up` starts (to
    # the broker or the store) can take one of them as its source port before the service binds it.
    ranges = Path("/proc/sys/net/ipv4/ip_local_port_range")
    ephemeral = int(ranges.read_text().split()[0]) if ranges.exists() else 32768
    for _ in range(50):
        base = random.randrange(20000, ephemeral - 5)
        try:
            for port in range(base, base + 6):  # the four services, the console, notify's second process
                with socket.socket() as s:
                    s.bind(("127.0.0.1", port))
            return base
        except OSError:
            continue
    raise RuntimeError("no six consecutive free ports")


def _descendants(pid: int) -> set[int]:
    """Every process below pid, from /proc (parent links)."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            parents[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])
    found: set[int] = set()
    frontier = {pid}
    while frontier:
        frontier = {child for child, parent in parents.items() if parent in frontier} - found
        found |= frontier
    return found


def _cmdline(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return b""


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@contextmanager
def complaints_up(data_dir: Path, first_port: int) -> Iterator[subprocess.Popen[bytes]]:
    env = {k: v for k, v in os.environ.items() if k not in {"KAFKA_BOOTSTRAP_SERVERS", "MONGODB_URI"}}
    process = subprocess.Popen(
        [sys.executable, "-m", "shared.runtime.cli", "up", "--data-dir", str(data_dir),
         "--first-port", str(first_port)],
        env=env, stdout=subprocess.DEVNULL, stderr=open(data_dir.parent / "up.log", "ab"),  # noqa: SIM115
    )
    try:
        wait_until(lambda: _ready(first_port) or process.poll() is not None, timeout=120,
                   interval=0.5, what="complaints up to report the services ready")
        assert process.poll() is None, (data_dir.parent / "up.log").read_text()
        yield process
    finally:
        if process.poll() is None:
            process.kill()


def _ready(first_port: int) -> bool:
    try:
        return all(httpx.get(f"http://127.0.0.1:{p}/readyz", timeout=1).status_code == 200
                   for p in (*range(first_port, first_port + 4), first_port + 5))
    except httpx.HTTPError:
        return False


def _trace_services(port: int, ticket: str, auth: dict[str, str]) -> set[str]:
    answer = httpx.get(f"http://127.0.0.1:{port}/v1/complaints/{ticket}/trace", timeout=10, headers=auth)
    return set(answer.json()["services"]) if answer.status_code == 200 else set()


def test_up_runs_the_suite_stops_cleanly_and_keeps_data(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    port = _free_ports()
    body = sample_complaint("complaint_invalid_key_zh.json")
    auth = {"Authorization": "Bearer " + mint_token(secret=ServiceSettings().auth_secret, subject="u-2001",
                                                    role="complainant", platform="kamen-1")}
    with complaints_up(data_dir, port) as process:
        filed = httpx.post(f"http://127.0.0.1:{port}/v1/complaints", json=body, timeout=10, headers=auth).json()
        ticket = filed["ticket"]
        wait_until(lambda: httpx.get(f"http://127.0.0.1:{port}/v1/complaints/{ticket}",
                                     timeout=5, headers=auth).json()["status"] == "acknowledged",
                   timeout=60, what="the complaint to be acknowledged")
        # One trace across the services, though each writes its own store: the spans share one.
        wait_until(lambda: _trace_services(port, ticket, auth) >= {"intake", "escalation"}, timeout=30,
                   what="the complaint's trace to hold intake's and escalation's spans")
        # Each service's data in a store of its own, the spans in one more.
        assert sorted(p.name for p in (data_dir / "mongodb").iterdir()) == sorted(STORES)
        # Notify runs as two processes (8004 and the port after the console's) sharing its topics' partitions.
        notify = [f"http://127.0.0.1:{port + 3}", f"http://127.0.0.1:{port + 5}"]
        wait_until(lambda: partitions_split(consumed_partitions(notify, topic=TopicSettings().intake_events),
                                            partitions=4),
                   timeout=60, what="the two notify processes to share the intake events partitions")
        children = _descendants(process.pid)
        assert len(children) >= 1 + len(STORES) + 5  # broker, stores, four services (notify twice)
        # The span store gives way when the cores are full; the services' stores do not.
        niceness = {_cmdline(pid).split(b"/mongodb/")[1].split(b"\0")[0].decode():
                    int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[16])
                    for pid in children if b"secantus" in _cmdline(pid)}
        assert niceness == {**dict.fromkeys(SERVICES, 0), "telemetry": 10}
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=60) == 0
        wait_until(lambda: not any(_alive(pid) for pid in children), timeout=10,
                   what="every child process to be gone")

    with complaints_up(data_dir, port) as process:
        again = httpx.get(f"http://127.0.0.1:{port}/v1/complaints/{ticket}", timeout=10, headers=auth)
        assert again.status_code == 200
        assert again.json()["status"] == "acknowledged"
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=60) == 0


def test_up_keeps_the_one_store_of_a_data_directory_made_before_stores_per_service(tmp_path: Path) -> None:
    """A data directory from before stores per service runs on its one store, and the suite works on it."""
    data_dir = tmp_path / "data"
    store, _ = embedded.start_mongodb(data_dir=data_dir / "mongodb", log_dir=tmp_path)
    store.stop()
    port = _free_ports()
    auth = {"Authorization": "Bearer " + mint_token(secret=ServiceSettings().auth_secret, subject="u-2001",
                                                    role="complainant", platform="kamen-1")}
    with complaints_up(data_dir, port) as process:
        stores = [pid for pid in _descendants(process.pid) if b"secantus" in _cmdline(pid)]
        assert len(stores) == 1
        assert not any((data_dir / "mongodb" / name).exists() for name in STORES)
        filed = httpx.post(f"http://127.0.0.1:{port}/v1/complaints", timeout=10, headers=auth,
                           json=sample_complaint("complaint_invalid_key_zh.json"))
        assert filed.status_code == 201, filed.text
        wait_until(lambda: httpx.get(f"http://127.0.0.1:{port}/v1/complaints/{filed.json()['ticket']}",
                                     timeout=5, headers=auth).json()["status"] == "acknowledged",
                   timeout=60, what="a complaint filed on the one store to be acknowledged")
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=60) == 0
