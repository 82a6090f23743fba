"""Reading exactly what a test put on a topic: mark the end offsets, act, then read up to the new end."""

from __future__ import annotations

import asyncio

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord, TopicPartition


class TopicWatch:
    """Reads what arrived on ``topic`` between :meth:`mark` and :meth:`read`, in partition order."""

    def __init__(self, bootstrap: str, topic: str) -> None:
        self._consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
        self._topic = topic
        self._marks: dict[TopicPartition, int] = {}

    async def __aenter__(self) -> TopicWatch:
        await self._consumer.start()
        partitions = self._consumer.partitions_for_topic(self._topic)
        if partitions is None:
            await self._consumer._client.force_metadata_update()  # topic created moments ago
            partitions = self._consumer.partitions_for_topic(self._topic) or set()
        self._partitions = [TopicPartition(self._topic, p) for p in sorted(partitions)]
        self._consumer.assign(self._partitions)
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._consumer.stop()

    async def mark(self) -> None:
        self._marks = await self._consumer.end_offsets(self._partitions)

    async def read(self, timeout: float = 30) -> list[ConsumerRecord]:
        """Every record written since :meth:`mark`, up to the end offsets as they are now."""
        ends = await self._consumer.end_offsets(self._partitions)
        records: list[ConsumerRecord] = []
        async with asyncio.timeout(timeout):
            for partition in self._partitions:
                start, end = self._marks.get(partition, 0), ends[partition]
                if end <= start:
                    continue
                self._consumer.seek(partition, start)
                while await self._consumer.position(partition) < end:
                    batch = await self._consumer.getmany(partition, timeout_ms=500)
                    records.extend(r for r in batch.get(partition, []) if r.offset < end)
        return records


async def produce(bootstrap: str, topic: str, records: list[tuple[bytes, bytes]]) -> None:
    """Produce ``(key, value)`` records in order, as the platform's producers do (acks=all, idempotent)."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", enable_idempotence=True, linger_ms=5)
    await producer.start()
    try:
        for key, value in records:
            await producer.send(topic, value, key=key)
        await producer.flush()
    finally:
        await producer.stop()
