"""A poll whose handling fails outside the handlers (here: the dead-letter topic cannot be written)
is delivered again on the real broker, not acknowledged unapplied."""

from __future__ import annotations

import asyncio

import pytest
from faststream.kafka import KafkaBroker

from shared.bus import Consumer
from shared.contracts.escalation import ComplaintStatusChanged
from shared.settings import ServiceSettings
from shared.topics import TopicSettings
from tests.support.servers import Servers
from tests.support.waiting import wait_until_async

pytestmark = pytest.mark.integration


def test_a_poll_that_fails_to_dead_letter_is_delivered_again(servers: Servers, namespace: str) -> None:
    topic = f"{namespace}.rewind"
    settings = ServiceSettings(kafka_bootstrap_servers=servers.bootstrap, consumer_group=f"{namespace}-rewind",
                               kafka_session_timeout_ms=3000, kafka_heartbeat_interval_ms=1000,
                               topics=TopicSettings(prefix=f"{namespace}."))
    broker = KafkaBroker(servers.bootstrap)
    consumer = Consumer(broker=broker, settings=settings, topic=topic, handlers={ComplaintStatusChanged: None},
                        ready=lambda: True)
    consumer.register()
    parked: list[bytes] = []
    attempts = 0

    async def dead_letter(body: bytes, **_: object) -> None:
        nonlocal attempts
        attempts += 1
        if attempts == 1:
            raise ConnectionError("dead-letter topic unreachable")
        parked.append(body)

    consumer._dead_letter = dead_letter  # type: ignore[method-assign]  # the one fault injected

    async def scenario() -> None:
        async with broker:
            await broker.start()
            await broker.publish(b"{not json", topic)
            await wait_until_async(lambda: asyncio.sleep(0, result=parked), timeout=60,
                                   what="the poison to be parked on its second delivery")

    asyncio.run(scenario())
    assert parked == [b"{not json"] and attempts == 2 and consumer.rewound == 1
