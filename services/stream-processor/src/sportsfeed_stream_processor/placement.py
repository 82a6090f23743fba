"""Which partition a game's updates are on: where every producer of ``odds.raw`` and ``odds.live`` puts them."""

from __future__ import annotations

from aiokafka.partitioner import murmur2


def partition_of(game_id: str, partitions: int) -> int:
    """Kafka's default partitioner (Java-compatible murmur2), as aiokafka's and librdkafka's use it."""
    return (murmur2(game_id.encode()) & 0x7FFFFFFF) % partitions
