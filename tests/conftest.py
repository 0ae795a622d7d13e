"""Session fixtures: one real broker and store for the run, a fresh namespace per module."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from shared.envelope import new_id
from tests.support.servers import Servers, real_servers


@pytest.fixture(scope="session")
def servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Servers]:
    """The real Kafka-protocol broker and MongoDB-wire store for the whole session."""
    with real_servers(workdir=tmp_path_factory.mktemp("servers")) as started:
        yield started


@pytest.fixture(scope="module")
def namespace() -> str:
    """A prefix for topics and databases so modules never see each other's data."""
    return f"t{new_id()[:8]}"


@pytest.fixture(scope="module")
def service_env(servers: Servers, namespace: str) -> dict[str, str]:
    """Environment for services under test: real servers, isolated names, fast consumers."""
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


@pytest.fixture
def repo_root() -> Path:
    """The repository's top folder."""
    return Path(__file__).resolve().parents[1]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every test must carry exactly one of the tier markers."""
    tiers = {"unit", "integration", "e2e"}
    for item in items:
        marks = {m.name for m in item.iter_markers()} & tiers
        if len(marks) != 1:
            raise pytest.UsageError(f"{item.nodeid} needs exactly one of {sorted(tiers)}")


os.environ.setdefault("COMPLAINTS_LOG_LEVEL", "WARNING")
