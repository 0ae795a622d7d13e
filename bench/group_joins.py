"""Group joins: how long each service's broker start takes, its consumers joining one after another
(FastStream's `broker.start()`) against together (`shared.bus.membership.start_broker`), on fresh
groups with the tests' 3 s session, and how long a second start of notify takes after a first one
stopped (its members must have left their groups for the second to be quick).

Starts the embedded broker and store (or uses KAFKA_BOOTSTRAP_SERVERS / MONGODB_URI).
Run: .venv/bin/python -m bench.group_joins
"""

from __future__ import annotations

import asyncio
import importlib
import os
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.harness import embedded_stack
from shared.bus.membership import start_broker
from shared.envelope import new_id
from shared.runtime import embedded
from shared.topics import TopicSettings

SERVICES = ("intake", "evidence", "escalation", "notify")


def runtime_of(name: str, *, bootstrap: str, uri: str) -> Any:
    """A fresh runtime of the service on its own namespace (new topics, new groups)."""
    namespace = f"b{new_id()[:8]}"
    os.environ.update({"KAFKA_BOOTSTRAP_SERVERS": bootstrap, "MONGODB_URI": uri, "KAFKA_SESSION_TIMEOUT_MS": "3000",
                       "KAFKA_HEARTBEAT_INTERVAL_MS": "1000", "COMPLAINTS_TOPIC_PREFIX": f"{namespace}.",
                       f"{name.upper()}_CONSUMER_GROUP": f"{namespace}-{name}"})
    topics = TopicSettings(prefix=f"{namespace}.")
    asyncio.run(embedded.create_topics(bootstrap=bootstrap, topics=topics.all_topics(), partitions=topics.partitions))
    return importlib.import_module(f"services.{name}.main").create_app().state.runtime


async def started(runtime: Any, *, together: bool) -> float:
    """Seconds until the broker started (every consumer holding its partitions); then stopped."""
    began = time.monotonic()
    await (start_broker(runtime.broker) if together else runtime.broker.start())
    took = time.monotonic() - began
    await runtime.broker.stop()
    return took


def main() -> None:
    with tempfile.TemporaryDirectory() as workdir, embedded_stack(workdir=Path(workdir)) as (bootstrap, uri):
        print("service     topics  one by one  together")
        for name in SERVICES:
            apart = asyncio.run(started(runtime_of(name, bootstrap=bootstrap, uri=uri), together=False))
            runtime = runtime_of(name, bootstrap=bootstrap, uri=uri)
            joined = asyncio.run(started(runtime, together=True))
            print(f"{name:<11} {len(runtime.consumers):>6}  {apart:>8.1f} s  {joined:>6.1f} s", flush=True)
        # The same groups again: the first start's members must have left them.
        settings = runtime.settings
        again = importlib.import_module("services.notify.main").create_app(settings).state.runtime
        print(f"notify started again on the same groups: {asyncio.run(started(again, together=True)):.1f} s")


if __name__ == "__main__":
    main()
