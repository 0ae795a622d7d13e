"""The started suite that e2e modules share: those that stop, kill or starve a service (the broker
restart, the store outage, scale-out, chaos, `complaints up`) start their own.

Starting the four services costs a few seconds of joins and imports each time; the modules that only
talk to them (walking skeleton, poison, fuzz, authorization matrix, the evidence and escalation
flows) file their own complaints and read only what they filed, so they lose nothing by sharing one
suite. The secrets module keeps a suite of its own at DEBUG: at that level intake's fuzzing took 42 s
instead of 13 s, a cost every module on the shared suite would pay. They run
after the modules with suites of their own, and the shared suite stops with the last of them (it is
package-scoped): it never idles beside a kill or through the integration tests.
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

HERE = Path(__file__).parent


def uses_shared_suite(item: pytest.Item) -> bool:
    """Whether a test runs against the shared suite: it wants `suite` and its module has none of its own."""
    module = getattr(item, "module", None)
    return "suite" in getattr(item, "fixturenames", ()) and not hasattr(module, "suite")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The e2e tests on the shared suite after the others, in their order (the suite starts once)."""
    places = [n for n, item in enumerate(items) if item.path.is_relative_to(HERE)]
    for place, item in zip(places, sorted((items[n] for n in places), key=uses_shared_suite), strict=True):
        items[place] = item


@pytest.fixture(scope="package")
def suite_env(servers: Servers) -> dict[str, str]:
    """The shared suite's environment: its own namespace, and private webhook targets allowed (the
    authorization matrix subscribes a local address)."""
    return {**namespaced_env(servers=servers, namespace=f"s{new_id()[:8]}"),
            "NOTIFY_WEBHOOK_ALLOW_PRIVATE_TARGETS": "true"}


@pytest.fixture(scope="package")
def suite_topics(suite_env: dict[str, str]) -> TopicSettings:
    """The shared suite's topics, created before it starts."""
    return create_topics(env=suite_env)


@pytest.fixture(scope="package")
def suite_logs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where the shared suite's services write their logs (one file each)."""
    return tmp_path_factory.mktemp("suite-logs")


@pytest.fixture(scope="package")
def suite(suite_env: dict[str, str], suite_topics: TopicSettings,
          suite_logs: Path) -> Iterator[dict[str, ServiceProcess]]:
    """The four services as processes, started once for every module that only talks to them."""
    with running_suite(env=suite_env, log_dir=suite_logs) as services:
        yield services
