"""The memory-only broker is killed and restarted mid-run: the document store is the truth, and
the owners re-drive whatever the broker forgot, so no complaint is lost."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from shared.runtime import embedded
from shared.runtime.supervisor import ServiceProcess
from tests.support.intake_calls import body, token
from tests.support.suite import create_topics, running_suite

pytestmark = pytest.mark.e2e

STEPS = {"evidence", "escalation", "notify"}


@pytest.fixture(scope="module")
def broker_port() -> int:
    return embedded.free_port()


@pytest.fixture(scope="module")
def broker_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("broker")


@pytest.fixture(scope="module")
def env(service_env: dict[str, str], broker_port: int) -> dict[str, str]:
    return {**service_env, "KAFKA_BOOTSTRAP_SERVERS": f"127.0.0.1:{broker_port}",
            "INTAKE_RECONCILE_INTERVAL_S": "2", "INTAKE_RECONCILE_AFTER_S": "8",
            **{f"{s}_REPUBLISH_AFTER_S": "4" for s in ("INTAKE", "EVIDENCE", "ESCALATION", "NOTIFY")}}


@pytest.fixture(scope="module")
def broker(broker_port: int, broker_dir: Path, env: dict[str, str]) -> Iterator[list[embedded.Child]]:
    child, _ = embedded.start_kafka(port=broker_port, log_dir=broker_dir)
    create_topics(env=env)
    holder = [child]
    yield holder
    holder[-1].stop()


@pytest.fixture(scope="module")
def suite(env: dict[str, str], broker: list[embedded.Child],
          tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, ServiceProcess]]:
    with running_suite(env=env, log_dir=tmp_path_factory.mktemp("logs")) as services:
        yield services


def test_no_complaint_is_lost_when_the_broker_forgets(suite: dict[str, ServiceProcess], broker: list[embedded.Child],
                                                      broker_port: int, broker_dir: Path, env: dict[str, str]) -> None:
    agent = token("agent-1", "agent", platform=body()["platform"])
    intake = suite["intake"].url
    tickets: list[str] = []
    halfway = threading.Event()

    def file_steadily() -> None:
        with httpx.Client(timeout=15, headers=agent) as client:
            for i in range(40):
                answer = client.post(f"{intake}/v1/complaints", json=body(**{"order.number": f"BR{i:04d}"}))
                assert answer.status_code == 201, answer.text
                tickets.append(answer.json()["ticket"])
                if i == 20:
                    halfway.set()

    filer = threading.Thread(target=file_steadily)
    filer.start()
    assert halfway.wait(60)
    broker[-1].kill()
    restarted, _ = embedded.start_kafka(port=broker_port, log_dir=broker_dir)
    broker.append(restarted)
    create_topics(env=env)
    filer.join(120)
    assert len(tickets) == 40

    def unfinished() -> dict[str, tuple[str, list[str]]]:
        stuck = {}
        with httpx.Client(timeout=15, headers=agent) as client:
            for ticket in tickets:
                current = client.get(f"{intake}/v1/complaints/{ticket}").json()
                services = sorted({e["service"] for e in current["timeline"]})
                if current["status"] == "filed" or not set(services) >= STEPS:
                    stuck[ticket] = (current["status"], services)
        return stuck

    deadline = time.monotonic() + 180
    while (stuck := unfinished()) and time.monotonic() < deadline:
        time.sleep(1)
    assert not stuck, f"{len(stuck)} complaints never ran through every service: {stuck}"
