"""Plain aiokafka helpers for tests: read a topic, re-send a record, read committed offsets."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord, TopicPartition

from shared.bus import group_of
from shared.runtime.recovery.clients import read_topic


async def records_now(*, bootstrap: str, topic: str) -> list[ConsumerRecord[Any, Any]]:
    """Every record on a topic now, from the beginning of each partition to its end."""
    return await read_topic(topic, servers=bootstrap)


async def read_until(*, bootstrap: str, topic: str, match: Callable[[ConsumerRecord[Any, Any]], bool],
                     timeout: float = 30.0) -> ConsumerRecord[Any, Any]:
    """Read a topic from the start until a record matches; fail after the deadline."""
    consumer = AIOKafkaConsumer(topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest",
                                enable_auto_commit=False, group_id=None)
    await consumer.start()
    try:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            batches = await consumer.getmany(timeout_ms=500)
            for records in batches.values():
                for record in records:
                    if match(record):
                        return record
        raise AssertionError(f"no matching record on {topic} within {timeout:.0f}s")
    finally:
        await consumer.stop()


async def resend(*, bootstrap: str, record: ConsumerRecord[Any, Any]) -> tuple[int, int]:
    """Send a copy of a record (same key, value, headers) to its topic: a redelivery."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap)
    await producer.start()
    try:
        meta = await producer.send_and_wait(record.topic, record.value, key=record.key,
                                            headers=list(record.headers))
        return meta.partition, meta.offset
    finally:
        await producer.stop()


async def send(*, bootstrap: str, topic: str, value: bytes, key: bytes | None = None) -> tuple[int, int]:
    """Send raw bytes to a topic."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap)
    await producer.start()
    try:
        meta = await producer.send_and_wait(topic, value, key=key)
        return meta.partition, meta.offset
    finally:
        await producer.stop()


async def committed_past(*, bootstrap: str, group: str, topic: str, partition: int, offset: int,
                         timeout: float = 30.0) -> None:
    """Wait until a service (by its consumer group name) has committed beyond an offset (it handled that record)."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=group_of(group, topic), enable_auto_commit=False)
    await consumer.start()
    try:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            committed = await consumer.committed(TopicPartition(topic, partition))
            if committed is not None and committed > offset:
                return
            await asyncio.sleep(0.2)
        raise AssertionError(f"{group} did not commit past {topic}[{partition}]@{offset}")
    finally:
        await consumer.stop()
