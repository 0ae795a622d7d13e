"""The started suite that e2e modules share for the session: those that stop, kill or starve a
service (the broker restart, the store outage, scale-out, chaos, `complaints up`) start their own.

Starting the four services costs a few seconds of joins and imports each time; the modules that only
talk to them (walking skeleton, poison, fuzz, authorization matrix, secrets, the evidence and
escalation flows) file their own complaints and read only what they filed, so they lose nothing by
sharing one suite, and gain traffic: the secrets module greps logs the others wrote too.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from shared.envelope import new_id
from shared.runtime.supervisor import ServiceProcess
from shared.topics import TopicSettings
from tests.support.servers import Servers
from tests.support.suite import create_topics, namespaced_env, running_suite


@pytest.fixture(scope="session")
def suite_env(servers: Servers) -> dict[str, str]:
    """The shared suite's environment: its own namespace; DEBUG logs (the secrets module reads them
    all) and private webhook targets (the authorization matrix subscribes a local address)."""
    return {**namespaced_env(servers=servers, namespace=f"s{new_id()[:8]}"),
            "COMPLAINTS_LOG_LEVEL": "DEBUG", "NOTIFY_WEBHOOK_ALLOW_PRIVATE_TARGETS": "true"}


@pytest.fixture(scope="session")
def suite_topics(suite_env: dict[str, str]) -> TopicSettings:
    """The shared suite's topics, created before it starts."""
    return create_topics(env=suite_env)


@pytest.fixture(scope="session")
def suite_logs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where the shared suite's services write their logs (one file each)."""
    return tmp_path_factory.mktemp("suite-logs")


@pytest.fixture(scope="session")
def suite(suite_env: dict[str, str], suite_topics: TopicSettings,
          suite_logs: Path) -> Iterator[dict[str, ServiceProcess]]:
    """The four services as processes, started once for every module that only talks to them."""
    with running_suite(env=suite_env, log_dir=suite_logs) as services:
        yield services
