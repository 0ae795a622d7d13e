"""`complaints lag`: per consumer group, topic and partition, what the group committed against the end.

Committed offsets are read with a consumer of each group (`committed()`), never the admin client's
list_consumer_group_offsets, which some brokers (Tansu) answer by dropping the connection.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

import typer
from aiokafka.admin import AIOKafkaAdminClient
from rich.console import Console
from rich.table import Table

from shared.bus.security import kafka_client_options
from shared.runtime.recovery.clients import (
    REQUEST_TIMEOUT_MS,
    bootstrap,
    broker_errors,
    console,
    consumer,
    fail,
    partitions_of,
)
from shared.topics import TopicSettings


@dataclass(frozen=True)
class Lag:
    """One partition of one group: what it committed (None: nothing yet), the partition's start and end."""

    group: str
    topic: str
    partition: int
    committed: int | None
    start: int
    end: int

    @property
    def lag(self) -> int:
        """Records the group has still to apply (from the start of the partition when it committed none)."""
        return max(0, self.end - (self.committed if self.committed is not None else self.start))


async def groups_by_topic(topics: list[str]) -> list[tuple[str, str]]:
    """(group, topic) of every consumer group the broker knows that reads one of `topics`: the suite names
    a service's group of a topic `<consumer group>.<topic>` (shared.bus.group_of)."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap(), request_timeout_ms=REQUEST_TIMEOUT_MS,
                                **kafka_client_options())
    try:
        await admin.start()
        groups = [group for group, *_ in await admin.list_consumer_groups()]
    finally:
        await admin.close()
    return sorted((group, topic) for group in groups for topic in topics if group.endswith(f".{topic}"))


async def measure(pairs: list[tuple[str, str]]) -> list[Lag]:
    """The lag of each (group, topic), partition by partition."""
    found: list[Lag] = []
    for group, topic in pairs:
        client = consumer(group)
        try:
            await client.start()
            partitions = await partitions_of(client, topic)
            starts = await client.beginning_offsets(partitions)
            ends = await client.end_offsets(partitions)
            for tp in partitions:
                found.append(Lag(group=group, topic=topic, partition=tp.partition, committed=await client.committed(tp),
                                 start=starts[tp], end=ends[tp]))
        finally:
            await client.stop()
    return found


def lag(group: str | None = typer.Option(None, "--group", help="Only groups whose name contains this"),
        topic: str | None = typer.Option(None, "--topic", help="Only this consumed topic"),
        max_lag: int | None = typer.Option(None, "--max-lag", min=0,
                                           help="Exit 1 when any partition lags more than this")) -> None:
    """Consumer lag per group, topic and partition: committed offset, end offset, records behind."""
    topics = TopicSettings().consumed()
    if topic is not None:
        if topic not in topics:
            fail(f"{topic} is not a topic this suite consumes", todo=f"name one of {', '.join(topics)}", code=2)
        topics = [topic]
    with broker_errors(), console.status("reading consumer groups and offsets…"):
        pairs = [(g, t) for g, t in asyncio.run(groups_by_topic(topics)) if group is None or group in g]
        lags = asyncio.run(measure(pairs))
    if not pairs:
        fail("no consumer group reads these topics yet", todo="start the services (each joins its groups at startup)")
    table = Table(title="consumer lag")
    for column in ("group", "topic", "partition", "committed", "end", "lag"):
        table.add_column(column, justify="right" if column in ("partition", "committed", "end", "lag") else "left")
    for row in lags:
        table.add_row(row.group, row.topic, str(row.partition), "-" if row.committed is None else str(row.committed),
                      str(row.end), str(row.lag))
    Console().print(table)
    total = sum(row.lag for row in lags)
    console.print(f"total lag {total} over {len(lags)} partitions of {len(pairs)} groups")
    worst = max((row.lag for row in lags), default=0)
    if max_lag is not None and worst > max_lag:
        fail(f"a partition lags {worst} records (more than --max-lag {max_lag})",
             todo="add instances of the service behind (up to the partition count) or find what slows it")
