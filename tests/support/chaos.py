"""Helpers for the chaos run: SIGKILL and restart a service on its port, consumer lag, retried calls."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import httpx
from aiokafka import AIOKafkaConsumer, TopicPartition

from shared.runtime import supervisor
from shared.runtime.supervisor import ServiceProcess

RETRYABLE = frozenset({502, 503, 504})


def kill_and_restart(service: ServiceProcess, *, log_dir: Path, timeout: float = 120.0) -> ServiceProcess:
    """SIGKILL a service, start it again on the same port with the same environment, wait for /readyz."""
    service.child.kill()
    service.child.stop()  # closes its log file; the new process appends to the same one
    restarted = supervisor.start_service(name=service.name, port=service.port, env=service.env, log_dir=log_dir)
    supervisor.wait_ready([restarted], timeout=timeout)
    return restarted


async def _lag(bootstrap: str, consumers: list[tuple[str, str]], partitions: int) -> int:
    lag = 0
    for group, topic in consumers:
        consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=group, enable_auto_commit=False)
        await consumer.start()
        try:
            parts = [TopicPartition(topic, p) for p in range(partitions)]
            ends = await consumer.end_offsets(parts)
            for tp in parts:
                lag += max(0, ends[tp] - (await consumer.committed(tp) or 0))
        finally:
            await consumer.stop()
    return lag


def consumed(service: ServiceProcess) -> list[tuple[str, str]]:
    """(consumer group, topic) of every consumer of a running service, as its /readyz reports them."""
    answer = httpx.get(f"{service.url}/readyz", timeout=5)
    return [(c["group"], c["topic"]) for c in answer.json()["consumers"]]


def service_lag(*, bootstrap: str, consumers: list[tuple[str, str]], partitions: int) -> int:
    """Records on a service's consumed topics its groups have not committed yet (its backlog)."""
    return asyncio.run(_lag(bootstrap, consumers, partitions))


def call(client: httpx.Client, method: str, url: str, *, deadline: float, **kwargs: object) -> httpx.Response:
    """One logical request, sent again on connection errors, timeouts and 502/503/504 until the deadline.

    Only for requests that are safe to repeat: reads, and writes under an Idempotency-Key.
    """
    while True:
        try:
            response = client.request(method, url, **kwargs)  # type: ignore[arg-type]
            if response.status_code not in RETRYABLE:
                return response
            wait = min(float(response.headers.get("Retry-After", "1")), 2.0)
            last = f"HTTP {response.status_code}"
        except httpx.TransportError as exc:
            wait, last = 0.3, f"{type(exc).__name__}: {exc}"
        if time.monotonic() + wait > deadline:
            raise AssertionError(f"{method} {url} kept failing until the deadline: {last}")
        time.sleep(wait)
