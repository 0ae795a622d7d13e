"""Start the four services (and the console) as separate processes, wait for readiness, stop them all."""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from shared.runtime.embedded import Child, spawn, start_stores

SERVICES = ("intake", "evidence", "escalation", "notify")
#: The embedded default's store processes: one per service (each owns its database) and one for
#: spans. An embedded store serves one core at most, so one store for all four services held the
#: lifecycle's latency (see README, Figures); MongoDB serves them all from one deployment.
STORES = (*SERVICES, "telemetry")


@dataclass
class ServiceProcess:
    """One running service: its process and its base URL."""

    name: str
    port: int
    child: Child
    env: dict[str, str] = field(default_factory=dict)

    @property
    def url(self) -> str:
        """Base URL of the service's HTTP API."""
        return f"http://127.0.0.1:{self.port}"


#: Notify processes `complaints up` starts (one consumer group: the topics' partitions split between them).
NOTIFY_PROCESSES = 2
#: Webhook POSTs in flight to one endpoint from all notify processes of `complaints up` together.
WEBHOOKS_IN_FLIGHT = 4


def notify_share(processes: int) -> dict[str, str]:
    """The per-process webhook cap of `processes` notify processes, as the environment setting: its
    share of WEBHOOKS_IN_FLIGHT (the cap of one process alone), at least one, so that together they
    hold an endpoint to that many POSTs at once (to one each beyond it)."""
    return {"NOTIFY_CONCURRENCY_PER_ENDPOINT": str(max(1, WEBHOOKS_IN_FLIGHT // processes))}


def service_env(*, base: dict[str, str], bootstrap: str, mongodb_uri: str,
                extra: dict[str, str] | None = None) -> dict[str, str]:
    """The environment every service gets: connections, short consumer timeouts, extras."""
    env = dict(base)
    env.update({
        "KAFKA_BOOTSTRAP_SERVERS": bootstrap,
        "MONGODB_URI": mongodb_uri,
        "KAFKA_SESSION_TIMEOUT_MS": env.get("KAFKA_SESSION_TIMEOUT_MS", "3000"),
        "KAFKA_HEARTBEAT_INTERVAL_MS": env.get("KAFKA_HEARTBEAT_INTERVAL_MS", "1000"),
        "PYTHONUNBUFFERED": "1",
    })
    env.update(extra or {})
    return env


def one_store(uri: str) -> dict[str, str]:
    """Every service's database, and the spans, on the store at `uri`."""
    return dict.fromkeys(STORES, uri)


def start_embedded_stores(*, data_dir: Path, log_dir: Path) -> tuple[list[Child], dict[str, str]]:
    """The embedded default's stores (see STORES), data in `data_dir/<name>`; each one's URI by name."""
    # The span store niced: spans can wait a moment when the cores are full, complaints should not.
    return start_stores(names=list(STORES), data_dir=data_dir, log_dir=log_dir, background=frozenset({"telemetry"}))


def start_service(*, name: str, port: int, env: dict[str, str], log_dir: Path,
                  stores: dict[str, str] | None = None, log_name: str | None = None) -> ServiceProcess:
    """Start one service process on a port; with `stores` (URIs by STORES name), on its own store
    and the span store rather than env's MONGODB_URI. Its log is `log_name` (else the name) .log."""
    env = {**env, f"{name.upper()}_HTTP_PORT": str(port)}
    if stores is not None:
        env.update({"MONGODB_URI": stores[name], "COMPLAINTS_TELEMETRY_URI": stores["telemetry"]})
    child = spawn(log_name or name, [sys.executable, "-m", f"services.{name}.main"], env=env,
                  log_path=log_dir / f"{log_name or name}.log", cwd=Path(__file__).resolve().parents[2])
    return ServiceProcess(name=name, port=port, child=child, env=env)


def start_console(*, port: int, env: dict[str, str], log_dir: Path,
                  apis: list[ServiceProcess]) -> ServiceProcess:
    """Start the console (people's pages) on a port, pointed at the running services' APIs."""
    urls = {f"CONSOLE_{svc.name.upper()}_URL": svc.url for svc in apis}
    return start_service(name="console", port=port, env={**env, **urls}, log_dir=log_dir)


def wait_ready(services: list[ServiceProcess], *, timeout: float,
               progress: Callable[[str], None] = lambda _: None) -> None:
    """Wait until every service answers /readyz with 200; fail early if one exits. (Each process
    is waited for: a service may run as several, one port each.)"""
    deadline = time.monotonic() + timeout
    pending = {s.url: s for s in services}
    while pending:
        for url, svc in list(pending.items()):
            if not svc.child.alive():
                raise RuntimeError(f"{svc.name} exited with {svc.child.process.returncode}; "
                                   f"see {svc.child.log_path}")
            try:
                answer = httpx.get(f"{url}/readyz", timeout=2)
                # Its own answer, not another process's that took the port before it could bind it.
                if answer.status_code == 200 and answer.json().get("service") == svc.name:
                    progress(f"{svc.name} ready at {url}")
                    del pending[url]
            except (httpx.HTTPError, ValueError):
                pass
        if pending and time.monotonic() > deadline:
            raise TimeoutError(f"not ready after {timeout:.0f}s: "
                               f"{', '.join(sorted(f'{s.name} ({url})' for url, s in pending.items()))}")
        if pending:
            time.sleep(0.2)


def consumed_partitions(urls: list[str], *, topic: str) -> list[list[int]]:
    """The partitions of `topic` the process at each base URL consumes now, as its /readyz tells
    (empty when it does not answer): several processes of one service split a topic's partitions."""
    found: list[list[int]] = []
    for url in urls:
        try:
            consumers = httpx.get(f"{url}/readyz", timeout=5).json().get("consumers", [])
        except (httpx.HTTPError, ValueError):
            consumers = []
        found.append(next((c["partitions"] for c in consumers if c.get("topic") == topic), []))
    return found


def partitions_split(found: list[list[int]], *, partitions: int) -> bool:
    """Whether processes consuming `found` (from consumed_partitions: one service's, one consumer
    group) consume every one of a topic's `partitions` once between them, each some."""
    owned = [set(one) for one in found]
    everything = set().union(*owned)
    return everything == set(range(partitions)) and sum(map(len, owned)) == partitions and all(owned)


def stop_all(children: list[Child]) -> None:
    """Stop children in reverse start order."""
    for child in reversed(children):
        child.stop()


def base_environment() -> dict[str, str]:
    """This process's environment, to pass on to the services."""
    return dict(os.environ)
