"""Which partition a key's records go to, as the Kafka client's default partitioner picks it."""

from __future__ import annotations

from aiokafka.partitioner import murmur2


def partition_of(key: str, partitions: int) -> int:
    """The partition of `partitions` that the client's default partitioner sends the key's records to."""
    return (murmur2(key.encode()) & 0x7FFFFFFF) % partitions
