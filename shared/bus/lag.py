"""Consumer lag: how many records of each partition a consumer's group has not committed yet."""

from __future__ import annotations

import asyncio

from shared.bus.consumer import Consumer

#: (topic, group, partition) -> records between the group's committed offset and the partition's end.
Lag = dict[tuple[str, str, int], int]


async def consumer_lag(consumer: Consumer) -> Lag:
    """The lag of each partition assigned to this member of the consumer's group: end offset minus
    the group's committed offset (the partition's start where nothing was committed yet).

    Three small broker requests per consumer (ListOffsets twice, OffsetFetch); the
    partitions of the group's other members are reported by those members, so figures of all
    instances add up. Nothing is reported before the member has joined its group."""
    client = getattr(consumer._subscriber, "consumer", None)  # the aiokafka consumer, once started
    if client is None:
        return {}
    partitions = sorted(client.assignment(), key=lambda tp: tp.partition)
    if not partitions:
        return {}
    stats = consumer.stats()
    topic, group = stats["topic"], stats["group"]
    # One OffsetFetch for all the member's partitions (aiokafka's `committed` asks once per partition).
    ends, starts, committed = await asyncio.gather(
        client.end_offsets(partitions), client.beginning_offsets(partitions),
        client._coordinator.fetch_committed_offsets(partitions))
    done = {tp: c.offset for tp, c in committed.items() if c.offset >= 0}
    return {(topic, group, tp.partition): max(0, ends[tp] - done.get(tp, starts[tp])) for tp in partitions}
