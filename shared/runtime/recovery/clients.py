"""What the recovery commands share: the Kafka clients of the settings, reading a whole topic, clear failures."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any, NoReturn

import typer
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord, TopicPartition
from rich.console import Console

from shared.bus.security import kafka_client_options

console = Console(stderr=True)
#: How long a command waits for the broker before saying it cannot reach it.
REQUEST_TIMEOUT_MS = 10_000


def fail(problem: str, *, todo: str, code: int = 1) -> NoReturn:
    """End the command: what is wrong and what to do, on stderr; a non-zero exit."""
    console.print(f"[red]✗ {problem}[/]\n  → {todo}")
    raise typer.Exit(code)


def bootstrap() -> str:
    """The broker the commands talk to (KAFKA_BOOTSTRAP_SERVERS, as the services)."""
    return os.environ.get("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:9092")


def unreachable(exc: BaseException) -> NoReturn:
    fail(f"cannot reach the Kafka broker at {bootstrap()}: {type(exc).__name__}: {exc}",
         todo="check KAFKA_BOOTSTRAP_SERVERS (and KAFKA_SECURITY_PROTOCOL, KAFKA_SASL_*, KAFKA_SSL_* for a secured "
              "cluster) and that the broker runs")


def consumer(group_id: str | None = None, *, servers: str | None = None) -> AIOKafkaConsumer:
    """A consumer that commits nothing, of `group_id` when given (to read its committed offsets)."""
    return AIOKafkaConsumer(bootstrap_servers=servers or bootstrap(), group_id=group_id, enable_auto_commit=False,
                            request_timeout_ms=REQUEST_TIMEOUT_MS, **kafka_client_options())


def producer() -> AIOKafkaProducer:
    """A producer that waits for every replica (as the services' own)."""
    return AIOKafkaProducer(bootstrap_servers=bootstrap(), acks="all", request_timeout_ms=REQUEST_TIMEOUT_MS,
                            **kafka_client_options())


async def partitions_of(client: AIOKafkaConsumer, topic: str) -> list[TopicPartition]:
    """The topic's partitions (none when it does not exist)."""
    found = client.partitions_for_topic(topic)
    if not found:
        await client._client.force_metadata_update()  # noqa: SLF001 - the metadata of a topic not asked for yet
        found = client.partitions_for_topic(topic)
    return [TopicPartition(topic, p) for p in sorted(found or ())]


async def read_topic(topic: str, *, servers: str | None = None) -> list[ConsumerRecord[Any, Any]]:
    """Every record on a topic now, each partition from its beginning to its end (of `servers`, else the
    configured broker)."""
    client = consumer(servers=servers)
    try:
        await client.start()
        partitions = await partitions_of(client, topic)
        if not partitions:
            return []
        client.assign(partitions)
        await client.seek_to_beginning(*partitions)
        ends = await client.end_offsets(partitions)
        found: list[ConsumerRecord[Any, Any]] = []
        while [tp for tp, end in ends.items() if await client.position(tp) < end]:
            for batch in (await client.getmany(timeout_ms=500)).values():
                found.extend(batch)
        return found
    finally:
        await client.stop()


@contextmanager
def broker_errors() -> Iterator[None]:
    """Turn a broker that does not answer into a clear failure rather than a traceback."""
    from aiokafka.errors import KafkaError

    try:
        yield
    except (KafkaError, OSError, TimeoutError) as exc:
        unreachable(exc)


_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def since_moment(text: str | None, *, now: datetime | None = None) -> datetime | None:
    """`--since`: an ISO 8601 time (with a zone; UTC when it has none) or an age such as 30m, 6h, 7d."""
    if text is None:
        return None
    text = text.strip()
    if text[:-1].isdigit() and text[-1:] in _UNITS:
        return (now or datetime.now(UTC)) - timedelta(seconds=int(text[:-1]) * _UNITS[text[-1]])
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        fail(f"--since {text!r} is neither an ISO 8601 time nor an age",
             todo="give e.g. --since 2026-11-23T08:00:00Z or --since 6h (s, m, h, d)", code=2)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
