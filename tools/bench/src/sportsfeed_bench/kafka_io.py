"""What the benchmarks do with Kafka directly: produce records as the services do, read a topic's end
offsets, and read a consumer group's committed offsets without joining the group."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import KafkaError
from sportsfeed_common.topics import TopicSpec

Offsets = dict[TopicPartition, int]


def partitions_of(topic: TopicSpec) -> list[TopicPartition]:
    # The private stack's topics are created from these specs, so the counts are the broker's.
    return [TopicPartition(topic.name, p) for p in range(topic.partitions)]


async def produce(bootstrap: str, topic: str, records: list[tuple[bytes, bytes]],
                  headers: list[tuple[str, bytes]] | None = None) -> Offsets:
    """Every ``(key, value)`` record to ``topic`` (each with ``headers``), with ingest's producer guarantees,
    once all are acknowledged: the end offsets they left, one past the last of them on each partition they
    went to."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", enable_idempotence=True, linger_ms=2)
    await producer.start()
    try:
        written = await asyncio.gather(*[await producer.send(topic, value, key=key, headers=headers)
                                         for key, value in records])
    finally:
        await producer.stop()
    ends: Offsets = {}
    for metadata in written:
        partition = TopicPartition(topic, metadata.partition)
        ends[partition] = max(ends.get(partition, 0), metadata.offset + 1)
    return ends


async def end_offsets(bootstrap: str, topic: TopicSpec) -> Offsets:
    """The offset the next record of each partition of ``topic`` will get."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        return await consumer.end_offsets(partitions_of(topic))
    finally:
        await consumer.stop()


def uncommitted(ends: Mapping[TopicPartition, int], committed: Mapping[TopicPartition, int]) -> Offsets:
    """Per partition still behind, how many records below ``ends`` the group has not committed.

    Empty once the group has committed up to ``ends`` everywhere. A partition the group never
    committed on (absent, or Kafka's -1) counts from 0.
    """
    behind = {partition: end - max(committed.get(partition, 0), 0) for partition, end in ends.items()}
    return {partition: count for partition, count in behind.items() if count > 0}


class CommittedOffsets:
    """A consumer group's committed offsets on a topic, read with OffsetFetch requests from an admin
    client. Unlike a consumer given the group id, it never joins the group, so reading them never
    makes the group's own members rebalance, and it cannot commit anything by mistake."""

    def __init__(self, bootstrap: str, group: str, topic: TopicSpec) -> None:
        self.group = group
        self.topic = topic
        self._admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
        self._coordinator: int | None = None

    async def __aenter__(self) -> CommittedOffsets:
        await self._admin.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._admin.close()

    async def fetch(self) -> Offsets | None:
        """Each partition's committed offset (-1: none yet); ``None`` when the broker could not say
        this time (the coordinator moving or still loading the group): ask again."""
        try:
            if self._coordinator is None:
                self._coordinator = await self._admin.find_coordinator(self.group)
            offsets = await self._admin.list_consumer_group_offsets(
                self.group, self._coordinator, partitions_of(self.topic))
        except KafkaError as error:
            if not error.retriable:
                raise
            self._coordinator = None  # it may have moved: look it up again
            return None
        return {partition: meta.offset for partition, meta in offsets.items()}
