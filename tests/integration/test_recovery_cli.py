"""The operator's recovery commands on the real broker and store: a dead letter replayed once the cause
is fixed (and not twice without --force), a failed outbox entry re-driven, lag that drains, and
`doctor` refusing a production deployment with a committed secret."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from faststream.kafka import KafkaBroker
from typer.testing import CliRunner, Result

from shared.bus import Consumer, make_publish
from shared.contracts.escalation import ComplaintStatusChanged
from shared.envelope import new_id, utcnow
from shared.ledger import ProcessedEvent, apply_once
from shared.outbox import FAILED, PUBLISHED, OutboxEntry, OutboxRelay
from shared.runtime import cli
from shared.runtime.recovery import clients
from shared.settings import ServiceSettings
from shared.topics import TopicSettings
from tests.support import kafka
from tests.support.servers import Servers, own_database
from tests.support.suite import create_topics
from tests.support.waiting import wait_until_async

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def topics(service_env: dict[str, str]) -> TopicSettings:
    return create_topics(env=service_env)


@pytest.fixture
def cli_env(service_env: dict[str, str], topics: TopicSettings, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """The commands see this module's broker, store and topic names, as an operator's shell would."""
    for name, value in service_env.items():
        monkeypatch.setenv(name, value)
    return service_env


def complaints(*args: str) -> Result:
    """Run `complaints <args>` in this process (output: what the operator reads, stdout and stderr)."""
    return CliRunner().invoke(cli.app, list(args))


def test_a_dead_letter_replayed_after_the_fix_is_applied_once_and_not_replayed_twice(
        cli_env: dict[str, str], topics: TopicSettings, servers: Servers, namespace: str) -> None:
    topic = topics.escalation_events
    settings = ServiceSettings(kafka_bootstrap_servers=servers.bootstrap, consumer_group=f"{namespace}-replay",
                               kafka_session_timeout_ms=3000, kafka_heartbeat_interval_ms=1000, topics=topics)
    broker = KafkaBroker(servers.bootstrap)
    broken = True
    repeats: list[str] = []

    async def handle(event: ComplaintStatusChanged, uow: Any) -> None:
        if broken:
            raise RuntimeError("the status table is missing a column")  # the cause an operator fixes
        await asyncio.to_thread(apply_once, uow, consumer="replay-test", event=event, work=lambda tx: None)

    async def repeated(event: Any) -> None:
        repeats.append(event.event_id)

    consumer = Consumer(broker=broker, settings=settings, topic=topic, handlers={ComplaintStatusChanged: handle},
                        ready=lambda: True, on_repeat=repeated)
    consumer.register()
    event = ComplaintStatusChanged(complaint_id=f"c-{new_id()[:8]}", ticket="CP-20261123-000042",
                                   from_state="filed", to_state="acknowledged", tier="internal")

    def applied() -> int:
        return ProcessedEvent.objects(consumer="replay-test", event_id=event.event_id).count()

    async def scenario() -> None:
        nonlocal broken
        async with broker:
            await broker.start()
            await broker.publish(event.model_dump_json().encode(), topic, key=event.key().encode(),
                                 headers={"content-type": "application/json", "message-type": event.type})
            await wait_until_async(lambda: asyncio.sleep(0, result=consumer.dead_lettered), timeout=60,
                                   what="the failing record to be dead-lettered")
            listed = await asyncio.to_thread(complaints, "dlq", "list", "--topic", topic, "--json")
            assert listed.exit_code == 0, listed.output
            [parked] = [json.loads(line) for line in listed.stdout.splitlines()]
            assert parked["id"].startswith(f"{topics.dead_letter(topic)}:") and parked["from"] == topic
            assert parked["reason"].startswith("handler error") and parked["replays"] == 0

            broken = False  # the cause is fixed
            first = await asyncio.to_thread(complaints, "dlq", "replay", "--topic", topic)
            assert first.exit_code == 0, first.output
            assert "replayed 1 dead letters" in first.output
            await wait_until_async(lambda: asyncio.sleep(0, result=applied()), timeout=30,
                                   what="the replayed record to be applied")

            second = await asyncio.to_thread(complaints, "dlq", "replay", "--topic", topic)
            assert second.exit_code == 1, second.output
            assert "replayed already, nothing sent" in second.output and "--force" in second.output

            forced = await asyncio.to_thread(complaints, "dlq", "replay", "--topic", topic, "--force")
            assert forced.exit_code == 0, forced.output
            await wait_until_async(lambda: asyncio.sleep(0, result=repeats), timeout=30,
                                   what="the forced replay to reach the consumer")

    with own_database(servers, f"{namespace}_replay", ProcessedEvent, OutboxEntry):
        asyncio.run(scenario())
        assert applied() == 1, "applied once, however often it was replayed"
        assert repeats == [event.event_id] and consumer.dead_lettered == 1
    parked = asyncio.run(kafka.records_now(bootstrap=servers.bootstrap, topic=topics.dead_letter(topic)))
    replayed = [r for r in asyncio.run(kafka.records_now(bootstrap=servers.bootstrap, topic=topic))
                if dict(r.headers).get("dlq-replay-of")]
    assert len(replayed) == 2 and all(r.key == event.key().encode() for r in replayed)
    assert all(dict(r.headers)["message-type"] == b"ComplaintStatusChanged" for r in replayed), \
        "the original headers go with the replay"
    assert len(parked) == 3, "the dead letter and a marker per replay"


def run_cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """`complaints <args>` as its own process (it connects to the store its own way)."""
    return subprocess.run([sys.executable, "-m", "shared.runtime.cli", *args], cwd=ROOT, env={**os.environ, **env},
                          capture_output=True, text=True, timeout=120)


@pytest.fixture
def intake_outbox(servers: Servers, namespace: str) -> Iterator[str]:
    name = f"{namespace}_outbox_cli"
    with own_database(servers, name, OutboxEntry):
        yield name


def test_a_failed_outbox_entry_is_listed_then_re_driven_and_published(
        intake_outbox: str, service_env: dict[str, str], topics: TopicSettings, servers: Servers) -> None:
    event = ComplaintStatusChanged(complaint_id=f"c-{new_id()[:8]}", ticket="CP-20261123-000043",
                                   from_state="filed", to_state="acknowledged", tier="internal")
    now = utcnow()
    # The trace context it was written in: its consumers' spans are children of the writer's span.
    written_in = f"00-{new_id()}-{new_id()[:16]}-01"
    OutboxEntry(id=event.event_id, topic=topics.escalation_events, key=event.key(), message_type=event.type,
                payload=event.model_dump_json(), state=FAILED, attempts=50, created_at=now, lease_until=now,
                headers={"traceparent": written_in},
                last_error="KafkaTimeoutError: the broker was unreachable for 20 minutes").save()
    env = {**service_env, "INTAKE_MONGODB_DB": intake_outbox}

    listed = run_cli("outbox", "list", "--failed", "--service", "intake", "--json", env=env)
    assert listed.returncode == 0, listed.stderr
    [entry] = [json.loads(line) for line in listed.stdout.splitlines()]
    assert entry["_id"] == event.event_id and entry["state"] == "failed" and entry["service"] == "intake"
    assert entry["last_error"].startswith("KafkaTimeoutError")

    broker = KafkaBroker(servers.bootstrap)
    relay = OutboxRelay(publish=make_publish(broker), batch_size=50,
                        poll_interval_s=0.2, max_attempts=50)

    async def scenario() -> subprocess.CompletedProcess[str]:
        async with broker:
            await broker.start()
            running = asyncio.create_task(relay.run(ready=lambda: True))
            try:
                return await asyncio.to_thread(run_cli, "outbox", "redrive", "--service", "intake", "--wait", "30",
                                               env=env)
            finally:
                running.cancel()

    redriven = asyncio.run(scenario())
    assert redriven.returncode == 0, redriven.stderr
    assert "every re-driven entry is published" in redriven.stderr
    assert OutboxEntry.objects.get(id=event.event_id).state == PUBLISHED
    on_topic = asyncio.run(kafka.records_now(bootstrap=servers.bootstrap, topic=topics.escalation_events))
    [record] = [r for r in on_topic if r.key == event.key().encode()]
    assert record.value.decode() == event.model_dump_json()
    # The writer's trace context goes out as written: the relay adds no span of its own in between.
    assert dict(record.headers)["traceparent"].decode() == written_in


def test_lag_shows_a_backlog_then_zero_once_the_group_catches_up(
        cli_env: dict[str, str], topics: TopicSettings, servers: Servers, namespace: str) -> None:
    topic, group = topics.notify_events, f"{namespace}-lagging.{topics.notify_events}"
    for n in range(3):
        asyncio.run(kafka.send(bootstrap=servers.bootstrap, topic=topic, value=b"{}", key=f"k{n}".encode()))

    async def commit(to_end: bool) -> None:
        client = clients.consumer(group)
        await client.start()
        try:
            partitions = await clients.partitions_of(client, topic)
            client.assign(partitions)
            offsets = await (client.end_offsets(partitions) if to_end else client.beginning_offsets(partitions))
            await client.commit({tp: offset for tp, offset in offsets.items()})
        finally:
            await client.stop()

    asyncio.run(commit(to_end=False))
    behind = complaints("lag", "--group", f"{namespace}-lagging", "--max-lag", "0")
    assert behind.exit_code == 1, behind.output
    assert "total lag 3 over 4 partitions of 1 groups" in behind.output and "more than --max-lag 0" in behind.output
    asyncio.run(commit(to_end=True))
    caught_up = complaints("lag", "--group", f"{namespace}-lagging", "--max-lag", "0")
    assert caught_up.exit_code == 0, caught_up.output
    assert "total lag 0 over 4 partitions of 1 groups" in caught_up.output


def test_doctor_fails_a_production_deployment_naming_the_default_secret(
        cli_env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COMPLAINTS_ENV", "production")
    monkeypatch.delenv("COMPLAINTS_AUTH_SECRET", raising=False)
    monkeypatch.setenv("EVIDENCE_CARD_KEY_FERNET_KEYS", '["a-key-of-this-deployment"]')
    refused = complaints("doctor")
    assert refused.exit_code == 1, refused.output
    assert "✗ COMPLAINTS_AUTH_SECRET is the committed default" in refused.output
    assert "1 problems" in refused.output, "nothing else is wrong with this deployment"
    assert "Kafka broker at" in refused.output and "answers" in refused.output
    monkeypatch.setenv("COMPLAINTS_AUTH_SECRET", new_id() + new_id())
    passed = complaints("doctor")
    assert passed.exit_code == 0, passed.output
    assert "no secret left at a committed default" in passed.output and "fit to run" in passed.output


def test_a_topic_that_is_not_the_suite_s_is_refused_by_name(cli_env: dict[str, str]) -> None:
    result = complaints("dlq", "list", "--topic", "orders")
    assert result.exit_code == 2 and "orders is not a dead-letter topic of this suite" in result.output


