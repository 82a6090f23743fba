"""Reading ``odds.live``, ``odds.alerts`` and ``games``: every partition, no consumer group.

On start the replica seeks ``odds.live`` and ``odds.alerts`` back by time, to
the start of the replay window, and ``games`` to its beginning (it is
compacted), then reads up to the end offsets it found at start: the warm-up.
Only then is it ready; from there on every record is pushed live.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable

from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition
from sportsfeed_common.kafka_security import KafkaSecurity, aiokafka_security
from sportsfeed_common.topics import GAMES, ODDS_ALERTS, ODDS_LIVE, partition_counts

log = logging.getLogger(__name__)

Handler = Callable[[ConsumerRecord, bool], None]  # (record, live): live is False during the warm-up
FETCH_TIMEOUT_MS = 100
MAX_RECORDS_PER_FETCH = 1_000
# Fan-out never awaits, so the sockets' writers run only between handled records when the reader
# yields: every this many records it does, so a burst never piles up in a healthy client's queue.
YIELD_EVERY_RECORDS = 100


class LiveFeed:
    def __init__(self, bootstrap_servers: str, security: KafkaSecurity, window_seconds: float,
                 handle: Handler, after_fetch: Callable[[], Awaitable[None]] | None = None) -> None:
        self._bootstrap_servers = bootstrap_servers
        self._security = security
        self._consumer: AIOKafkaConsumer = None  # type: ignore[assignment]  # made in start(): it needs the loop
        self._window_seconds = window_seconds
        self._handle = handle
        self._after_fetch = after_fetch
        self.warm = asyncio.Event()
        self.warm_up_records = 0
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._consumer = AIOKafkaConsumer(
            bootstrap_servers=self._bootstrap_servers, **aiokafka_security(self._security),
            enable_auto_commit=False, group_id=None, auto_offset_reset="earliest",
            fetch_max_wait_ms=FETCH_TIMEOUT_MS)
        await self._consumer.start()
        self._task = asyncio.create_task(self._run(), name="live-feed")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        if self._consumer is not None:
            await self._consumer.stop()

    async def check_ready(self) -> None:
        if self._task is not None and self._task.done():
            raise RuntimeError(f"the Kafka reader stopped: {self._task.exception()!r}")
        if not self.warm.is_set():
            raise RuntimeError("warming the replay buffer from Kafka")

    async def _partitions(self, *topics: str) -> dict[str, list[TopicPartition]]:
        counts = await partition_counts(self._bootstrap_servers, list(topics),
                                        aiokafka_security(self._security))
        missing = [topic for topic in topics if not counts.get(topic)]
        if missing:
            raise RuntimeError(f"topics {missing} not found: run sportsfeed-admin first")
        return {topic: [TopicPartition(topic, partition) for partition in range(counts[topic])] for topic in topics}

    async def _assign_and_seek(self) -> dict[TopicPartition, int]:
        partitions = await self._partitions(ODDS_LIVE.name, ODDS_ALERTS.name, GAMES.name)
        by_time = [*partitions[ODDS_LIVE.name], *partitions[ODDS_ALERTS.name]]
        games = partitions[GAMES.name]
        consumer = self._consumer
        consumer.assign([*by_time, *games])
        window_start_ms = int((time.time() - self._window_seconds) * 1000)
        found = await consumer.offsets_for_times(dict.fromkeys(by_time, window_start_ms))
        ends = await consumer.end_offsets([*by_time, *games])
        for tp in by_time:
            at = found.get(tp)
            consumer.seek(tp, at.offset if at is not None else ends[tp])
        await consumer.seek_to_beginning(*games)
        return ends

    async def _run(self) -> None:
        ends = await self._assign_and_seek()
        consumer = self._consumer
        pending = {tp for tp, end in ends.items() if await consumer.position(tp) < end}
        started = time.monotonic()
        if not pending:
            self._warmed(started)
        while True:
            batches = await consumer.getmany(timeout_ms=FETCH_TIMEOUT_MS, max_records=MAX_RECORDS_PER_FETCH)
            live = self.warm.is_set()
            handled = 0
            for tp, records in batches.items():
                for record in records:
                    handled += 1
                    if live and handled % YIELD_EVERY_RECORDS == 0:
                        await asyncio.sleep(0)
                    try:
                        self._handle(record, live)
                    except Exception:
                        log.exception("a record could not be handled; skipped",
                                      extra={"topic": tp.topic, "partition": tp.partition, "offset": record.offset})
                if not live:
                    self.warm_up_records += len(records)
            if not live:
                pending = {tp for tp in pending if await consumer.position(tp) < ends[tp]}
                if not pending:
                    self._warmed(started)
            if self._after_fetch is not None:
                await self._after_fetch()

    def _warmed(self, started: float) -> None:
        self.warm.set()
        log.info("replay buffer warm", extra={"records": self.warm_up_records,
                                              "seconds": round(time.monotonic() - started, 3)})
