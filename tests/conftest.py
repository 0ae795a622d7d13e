"""Session fixtures: one real broker and store for the run, a fresh namespace per module."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from shared.envelope import new_id
from tests.support.servers import Servers, real_servers
from tests.support.suite import namespaced_env


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
    return namespaced_env(servers=servers, namespace=namespace)


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
