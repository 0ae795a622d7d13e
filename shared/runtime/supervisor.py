"""Start the four services as separate processes, wait for readiness, stop them all."""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from shared.runtime.embedded import Child, spawn

SERVICES = ("intake", "evidence", "escalation", "notify")


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


def start_service(*, name: str, port: int, env: dict[str, str], log_dir: Path) -> ServiceProcess:
    """Start one service process on a port."""
    env = {**env, f"{name.upper()}_HTTP_PORT": str(port)}
    child = spawn(name, [sys.executable, "-m", f"services.{name}.main"], env=env,
                  log_path=log_dir / f"{name}.log", cwd=Path(__file__).resolve().parents[2])
    return ServiceProcess(name=name, port=port, child=child, env=env)


def wait_ready(services: list[ServiceProcess], *, timeout: float,
               progress: Callable[[str], None] = lambda _: None) -> None:
    """Wait until every service answers /readyz with 200; fail early if one exits."""
    deadline = time.monotonic() + timeout
    pending = {s.name: s for s in services}
    while pending:
        for name, svc in list(pending.items()):
            if not svc.child.alive():
                raise RuntimeError(f"{name} exited with {svc.child.process.returncode}; see {svc.child.log_path}")
            try:
                if httpx.get(f"{svc.url}/readyz", timeout=2).status_code == 200:
                    progress(f"{name} ready at {svc.url}")
                    del pending[name]
            except httpx.HTTPError:
                pass
        if pending and time.monotonic() > deadline:
            raise TimeoutError(f"not ready after {timeout:.0f}s: {', '.join(sorted(pending))}")
        if pending:
            time.sleep(0.2)


def stop_all(children: list[Child]) -> None:
    """Stop children in reverse start order."""
    for child in reversed(children):
        child.stop()


def base_environment() -> dict[str, str]:
    """This process's environment, to pass on to the services."""
    return dict(os.environ)
