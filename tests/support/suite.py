"""The four services as separate processes against the test servers."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from shared.runtime import embedded, supervisor
from shared.topics import TopicSettings
from tests.support.servers import Servers


def namespaced_env(*, servers: Servers, namespace: str) -> dict[str, str]:
    """Environment for services under test: the real servers, names under `namespace`, fast consumers."""
    env = {
        "KAFKA_BOOTSTRAP_SERVERS": servers.bootstrap,
        "MONGODB_URI": servers.mongodb_uri,
        "KAFKA_SESSION_TIMEOUT_MS": "3000",
        "KAFKA_HEARTBEAT_INTERVAL_MS": "1000",
        "COMPLAINTS_TOPIC_PREFIX": f"{namespace}.",
        "COMPLAINTS_TELEMETRY_DB": f"{namespace}_telemetry",
        "COMPLAINTS_SPAN_EXPORT_DELAY_MS": "200",
        **{f"{s.upper()}_OUTBOX_POLL_INTERVAL_S": "0.2" for s in ("intake", "evidence", "escalation", "notify")},
    }
    for name in ("intake", "evidence", "escalation", "notify"):
        env[f"{name.upper()}_MONGODB_DB"] = f"{namespace}_{name}"
        env[f"{name.upper()}_CONSUMER_GROUP"] = f"{namespace}-{name}"
    return env


def create_topics(*, env: dict[str, str]) -> TopicSettings:
    """Create the suite's topics under the test namespace."""
    topics = TopicSettings(prefix=env["COMPLAINTS_TOPIC_PREFIX"])
    asyncio.run(embedded.create_topics(bootstrap=env["KAFKA_BOOTSTRAP_SERVERS"],
                                       topics=topics.all_topics(), partitions=topics.partitions))
    return topics


@contextmanager
def running_suite(*, env: dict[str, str], log_dir: Path, names: tuple[str, ...] = supervisor.SERVICES,
                  console_port: int | None = None) -> Iterator[dict[str, supervisor.ServiceProcess]]:
    """Start the services as processes, wait for readiness, stop them all afterwards. With
    `console_port`, the console too, started with them (a port chosen long before its process
    binds it may be taken meanwhile by another test's process), named "console"."""
    full_env = {**os.environ, **env}
    services = [supervisor.start_service(name=name, port=embedded.free_port(), env=full_env,
                                         log_dir=log_dir) for name in names]
    if console_port is not None:
        services.append(supervisor.start_console(port=console_port, env=full_env, log_dir=log_dir,
                                                 apis=list(services)))
    try:
        supervisor.wait_ready(services, timeout=90)
        yield {s.name: s for s in services}
    finally:
        supervisor.stop_all([s.child for s in services])
