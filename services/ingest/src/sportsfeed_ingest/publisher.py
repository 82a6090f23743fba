"""Producing accepted batches to Kafka, and knowing for certain when they are there.

``publish`` returns only after Kafka acknowledged every record (``acks=all``,
idempotent producer). If that does not happen within the deadline it raises
:class:`KafkaUnavailable`, and the request is answered 503: some records of
the batch may still arrive, which is harmless because update ids are
deterministic and every consumer is idempotent by id, so the provider's retry
converges on exactly one copy.

Ingest starts even when Kafka is down: the producer connects in the
background, and until it has, requests get 503 and readiness fails. After an
outage the same producer reconnects by itself; a producer that hits a fatal
error (its idempotence state is broken) is replaced.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence

from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError

log = logging.getLogger(__name__)

RECONNECT_INTERVAL_SECONDS = 1.0
READY_TIMEOUT_SECONDS = 2.0


class KafkaUnavailable(RuntimeError):
    """Kafka did not acknowledge the batch in time; nothing may be reported as accepted."""


class Publisher:
    def __init__(self, bootstrap_servers: str, security_protocol: str, timeout_seconds: float) -> None:
        self._bootstrap = bootstrap_servers
        self._security_protocol = security_protocol
        self._timeout = timeout_seconds
        self._producer: AIOKafkaProducer | None = None
        self._connector: asyncio.Task[None] | None = None

    def _new_producer(self) -> AIOKafkaProducer:
        return AIOKafkaProducer(
            bootstrap_servers=self._bootstrap,
            security_protocol=self._security_protocol,
            client_id="sportsfeed-ingest",
            acks="all",
            enable_idempotence=True,
            # A few milliseconds of batching lets concurrent requests share produce requests.
            linger_ms=2,
            request_timeout_ms=int(self._timeout * 1000),
        )

    async def start(self) -> None:
        """Begin connecting; returns at once. Readiness reports when Kafka is reachable."""
        self._connector = asyncio.create_task(self._connect_until_done(), name="kafka-connector")

    async def _connect_until_done(self) -> None:
        while True:
            producer = self._new_producer()
            try:
                await producer.start()
            except KafkaError as error:
                log.warning("Kafka not reachable yet; retrying", extra={"error": repr(error)})
                await producer.stop()
                await asyncio.sleep(RECONNECT_INTERVAL_SECONDS)
                continue
            self._producer = producer
            log.info("connected to Kafka", extra={"bootstrap": self._bootstrap})
            return

    @property
    def connected(self) -> bool:
        return self._producer is not None

    async def publish(self, topic: str, records: Sequence[tuple[bytes, bytes]]) -> float:
        """Send ``(key, value)`` records in order and wait for every acknowledgement.

        Returns the seconds it took. Records with the same key land on one
        partition in the order given, so each game's order is kept.
        """
        producer = self._producer
        if producer is None:
            raise KafkaUnavailable("not connected to Kafka yet")
        started = time.perf_counter()
        try:
            async with asyncio.timeout(self._timeout):
                acknowledgements = [await producer.send(topic, value, key=key) for key, value in records]
                await asyncio.gather(*acknowledgements)
        except TimeoutError:
            raise KafkaUnavailable(f"Kafka did not acknowledge within {self._timeout:g} s") from None
        except KafkaError as error:
            if not error.retriable:
                await self._replace(producer, error)
            raise KafkaUnavailable(f"Kafka refused the batch: {error!r}") from None
        return time.perf_counter() - started

    async def _replace(self, broken: AIOKafkaProducer, error: KafkaError) -> None:
        """Swap a producer whose state cannot recover for a fresh one (new producer id)."""
        if self._producer is not broken:
            return  # another request already replaced it
        log.error("Kafka producer failed fatally; replacing it", extra={"error": repr(error)})
        self._producer = None
        asyncio.create_task(broken.stop())
        self._connector = asyncio.create_task(self._connect_until_done(), name="kafka-connector")

    async def check_ready(self) -> None:
        """Raise unless a metadata request to Kafka succeeds right now."""
        producer = self._producer
        if producer is None:
            raise KafkaUnavailable("not connected to Kafka yet")
        async with asyncio.timeout(READY_TIMEOUT_SECONDS):
            if not await producer.client.force_metadata_update():
                raise KafkaUnavailable("Kafka did not answer a metadata request")

    async def stop(self) -> None:
        """Flush what is buffered (graceful shutdown), then disconnect."""
        if self._connector is not None and not self._connector.done():
            self._connector.cancel()
            try:
                await self._connector
            except asyncio.CancelledError:
                pass
        if self._producer is not None:
            await self._producer.stop()
            self._producer = None
