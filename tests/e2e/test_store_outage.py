"""The document store stops for 12 s mid-run: services report not-ready, HTTP answers 503 with
Retry-After instead of hanging, consumers stop committing, and everything catches up after."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition

from shared.bus import group_of
from shared.contracts.complaints import FileComplaint
from shared.runtime import embedded
from shared.runtime.supervisor import ServiceProcess
from shared.topics import TopicSettings
from tests.support import kafka
from tests.support.filing_replies import ACCEPTED, reply_of
from tests.support.intake_calls import body, token
from tests.support.suite import create_topics, running_suite
from tests.support.waiting import wait_until

pytestmark = pytest.mark.e2e

#: Long enough for a consumer's store retries (each a 1 s store timeout, then 0.4, 0.8, 1.6, 3.2 s) to
#: reach their 5 s cap while the loop below checks each second that nothing is committed; a longer
#: outage only repeats capped retries (30 s proved nothing more and cost 18 s of every run).
OUTAGE_S = 12


@pytest.fixture(scope="module")
def store_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("outage-store")


@pytest.fixture(scope="module")
def store_port() -> int:
    return embedded.free_port()


@pytest.fixture(scope="module")
def own_store(store_dir: Path, store_port: int) -> Iterator[list[embedded.Child]]:
    """The services' store; the test appends the one it starts again, stopped only after the services
    (stopping them with their store gone made each wait out its stop timeout: 18 s)."""
    child, _ = embedded.start_mongodb(port=store_port, data_dir=store_dir / "db", log_dir=store_dir)
    held = [child]
    yield held
    for started in held:
        started.stop()


@pytest.fixture(scope="module")
def suite(service_env: dict[str, str], own_store: list[embedded.Child], store_port: int,
          tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, ServiceProcess]]:
    env = {**service_env, "MONGODB_URI": f"mongodb://127.0.0.1:{store_port}/?directConnection=true",
           "MONGODB_TIMEOUT_MS": "1000"}
    create_topics(env=env)
    with running_suite(env=env, log_dir=tmp_path_factory.mktemp("logs")) as services:
        yield services


async def committed(bootstrap: str, group: str, topic: str, partition: int) -> int | None:
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=group_of(group, topic), enable_auto_commit=False)
    await consumer.start()
    try:
        return await consumer.committed(TopicPartition(topic, partition))
    finally:
        await consumer.stop()


def test_a_store_outage_is_reported_and_caught_up(suite: dict[str, ServiceProcess], own_store: list[embedded.Child],
                                                  store_dir: Path, store_port: int,
                                                  service_env: dict[str, str]) -> None:
    bootstrap = service_env["KAFKA_BOOTSTRAP_SERVERS"]
    topics = TopicSettings(prefix=service_env["COMPLAINTS_TOPIC_PREFIX"])
    complaint = body(**{"order.number": "OUTAGE-1"})
    agent = token("agent-1", "agent", platform=complaint["platform"])
    intake = suite["intake"].url
    before = httpx.post(f"{intake}/v1/complaints", json=complaint, headers=agent, timeout=10)
    assert before.status_code == 201, before.text

    own_store[0].stop()
    started = time.monotonic()
    for svc in suite.values():
        wait_until(lambda s=svc: httpx.get(f"{s.url}/readyz", timeout=5).status_code == 503, timeout=15,
                   what=f"{svc.name} to report not ready")
    answer_started = time.monotonic()
    refused = httpx.post(f"{intake}/v1/complaints", json=body(**{"order.number": "OUTAGE-2"}),
                         headers=agent, timeout=15)
    assert refused.status_code == 503, refused.text
    assert int(refused.headers["Retry-After"]) > 0
    assert time.monotonic() - answer_started < 10, "the request hung instead of answering 503"
    read = httpx.get(f"{intake}/v1/complaints/{before.json()['ticket']}", headers=agent, timeout=15)
    assert read.status_code == 503
    for answer in (refused, read):  # problem details, like every other refusal
        assert answer.headers["content-type"] == "application/problem+json"
        assert (answer.json()["status"], answer.json()["rule"]) == (503, "store_unavailable")
        assert answer.json()["detail_zh"]
    not_ready = httpx.get(f"{intake}/readyz", timeout=5)
    assert not_ready.headers["content-type"] == "application/problem+json"
    assert not_ready.json()["checks"]["store"] is False and int(not_ready.headers["Retry-After"]) > 0

    command = FileComplaint(platform_reference="during-outage",
                            complaint=body(**{"order.number": "OUTAGE-3"}))
    partition, offset = asyncio.run(kafka.send(bootstrap=bootstrap, topic=topics.intake_commands,
                                               value=command.encode(), key=command.key().encode()))
    group = service_env["INTAKE_CONSUMER_GROUP"]
    while time.monotonic() - started < OUTAGE_S:
        position = asyncio.run(committed(bootstrap, group, topics.intake_commands, partition))
        assert position is None or position <= offset, "intake committed a command it could not store"
        time.sleep(1)

    restarted, _ = embedded.start_mongodb(port=store_port, data_dir=store_dir / "db", log_dir=store_dir)
    own_store.append(restarted)
    for svc in suite.values():
        wait_until(lambda s=svc: httpx.get(f"{s.url}/readyz", timeout=5).status_code == 200, timeout=60,
                   what=f"{svc.name} to be ready again")
    reply = asyncio.run(kafka.read_until(bootstrap=bootstrap, topic=topics.intake_replies,
                                         match=lambda r: b"during-outage" in r.value, timeout=60))
    assert reply_of(reply)["type"] == ACCEPTED
    asyncio.run(kafka.committed_past(bootstrap=bootstrap, group=group, topic=topics.intake_commands,
                                     partition=partition, offset=offset))
    after = httpx.post(f"{intake}/v1/complaints", json=body(**{"order.number": "OUTAGE-2"}),
                       headers=agent, timeout=10)
    assert after.status_code == 201, after.text
    for ticket in (before.json()["ticket"], after.json()["ticket"]):
        wait_until(lambda t=ticket: httpx.get(f"{intake}/v1/complaints/{t}", headers=agent,
                                              timeout=10).json()["status"] != "filed",
                   timeout=60, what=f"{ticket} to be acknowledged after the outage")
