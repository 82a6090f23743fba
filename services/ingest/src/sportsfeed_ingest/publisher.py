"""Producing accepted batches to Kafka, and knowing for certain when they are there.

``publish`` returns only after Kafka acknowledged every record (``acks=all``,
idempotent producer). If that does not happen within the deadline it raises
:class:`KafkaUnavailable`, and the request is answered 503: some records of
the batch may still arrive, which is harmless because update ids are
deterministic and every consumer is idempotent by id, so the provider's retry
converges on exactly one copy.

The producer is librdkafka's (confluent-kafka): on this project's 2-core
reference machine it produces about six times faster than aiokafka (see
docs/decisions.md), which is what lets ingest take 20,000 updates per second.
librdkafka connects, reconnects and retries in its own threads, so ingest
starts while Kafka is down and recovers by itself when it returns. Delivery
reports are collected by one poll thread and handed to the event loop once
per poll cycle rather than once per message.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Sequence

from confluent_kafka import KafkaError, KafkaException, Producer
from sportsfeed_common.kafka_security import KafkaSecurity, librdkafka_security
from sportsfeed_common.logs import ThrottledLog

log = logging.getLogger(__name__)

POLL_INTERVAL_SECONDS = 0.05
READY_TIMEOUT_SECONDS = 2.0
FLUSH_TIMEOUT_SECONDS = 10.0
ERROR_LOG_INTERVAL_SECONDS = 10.0


class KafkaUnavailable(RuntimeError):
    """Kafka did not acknowledge the batch in time; nothing may be reported as accepted."""


class _BatchAcknowledgement:
    """Counts one request's delivery reports on the poll thread; resolves its future once."""

    __slots__ = ("future", "remaining", "error")

    def __init__(self, future: asyncio.Future[None], count: int) -> None:
        self.future = future
        self.remaining = count
        self.error: KafkaError | None = None

    def delivered(self, error: KafkaError | None) -> bool:
        """Record one report; True when the batch is settled (all delivered, or one failed)."""
        if self.error is not None:
            return False  # already settled by an earlier failure
        if error is not None:
            self.error = error
            return True
        self.remaining -= 1
        return self.remaining == 0


class Publisher:
    def __init__(self, bootstrap_servers: str, security: KafkaSecurity, timeout_seconds: float) -> None:
        self._timeout = timeout_seconds
        self._config = {
            "bootstrap.servers": bootstrap_servers,
            "client.id": "sportsfeed-ingest",
            # TLS trusts the system's certificate store (where MSK's CA is): the wheel's bundled
            # librdkafka would otherwise look only where it was built. SASL as the settings say.
            **librdkafka_security(security),
            "acks": "all",
            "enable.idempotence": True,
            # A millisecond of batching lets concurrent requests share produce requests (far less CPU
            # for the broker and librdkafka than one request each) while adding at most 1 ms to the
            # push path, which starts here.
            "linger.ms": 1,
            # Give up on a record no later than the request that carries it gives up waiting.
            "delivery.timeout.ms": int(timeout_seconds * 1000),
            # The Java client's partitioner: a game maps to the same partition number on every
            # topic with the same partition count, whichever client produced it.
            "partitioner": "murmur2_random",
            "error_cb": self._on_error,
            # Connection failures reach error_cb (logged, throttled); librdkafka's own stderr
            # logging would repeat each of them several times a second during an outage.
            "log_level": 2,
        }
        self._error_log = ThrottledLog(log, ERROR_LOG_INTERVAL_SECONDS)
        self._producer: Producer | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._settled: list[_BatchAcknowledgement] = []
        self._running = threading.Event()
        self._poller: threading.Thread | None = None
        self._fatal: KafkaError | None = None

    async def start(self) -> None:
        """Create the producer and its poll thread; returns at once (librdkafka connects in the background)."""
        self._loop = asyncio.get_running_loop()
        self._producer = Producer(self._config)
        self._running.set()
        self._poller = threading.Thread(target=self._poll_forever, name="kafka-delivery-reports", daemon=True)
        self._poller.start()

    def _on_error(self, error: KafkaError) -> None:
        # Called on the poll thread. Broker-down errors are transient and librdkafka retries them;
        # a fatal error (the idempotent producer's state is lost) needs a new producer.
        if error.fatal():
            log.error("Kafka producer failed fatally", extra={"error": str(error)})
            self._fatal = error
        else:
            self._error_log.warning(error.name(), "Kafka client error", error=str(error))

    def _poll_forever(self) -> None:
        while self._running.is_set():
            producer = self._producer
            if producer is not None:
                producer.poll(POLL_INTERVAL_SECONDS)
            self._hand_over_settled()

    def _hand_over_settled(self) -> None:
        if self._settled and self._loop is not None:
            settled, self._settled = self._settled, []
            self._loop.call_soon_threadsafe(_resolve, settled)

    async def publish(self, topic: str, records: Sequence[tuple[bytes, bytes]]) -> float:
        """Send ``(key, value)`` records in order and wait for every acknowledgement.

        Returns the seconds it took. Records with the same key land on one
        partition in the order given, so each game's order is kept.
        """
        producer = self._producer
        if producer is None:
            raise KafkaUnavailable("the Kafka producer is not running")
        if self._fatal is not None:
            failure = self._fatal
            self._replace_producer()
            raise KafkaUnavailable(f"the Kafka producer failed ({failure}); it has been replaced")
        started = time.perf_counter()
        acknowledgement = _BatchAcknowledgement(asyncio.get_running_loop().create_future(), len(records))

        def on_delivery(error: KafkaError | None, _message: object) -> None:
            # Runs on the thread that polls, which is also the only one that swaps the list.
            if acknowledgement.delivered(error):
                self._settled.append(acknowledgement)

        try:
            for key, value in records:
                producer.produce(topic, value, key, on_delivery=on_delivery)
        except BufferError:
            raise KafkaUnavailable("the producer's buffer is full: Kafka is not keeping up") from None
        except KafkaException as error:
            raise KafkaUnavailable(f"Kafka refused the batch: {error}") from None
        # One timer per request (cheaper than an asyncio.timeout scope on this hot path).
        deadline = asyncio.get_running_loop().call_later(self._timeout, _expire, acknowledgement.future)
        try:
            await acknowledgement.future
        except TimeoutError:
            raise KafkaUnavailable(f"Kafka did not acknowledge within {self._timeout:g} s") from None
        except KafkaException as error:
            raise KafkaUnavailable(f"Kafka did not take the batch: {error.args[0]}") from None
        finally:
            deadline.cancel()
        return time.perf_counter() - started

    def _replace_producer(self) -> None:
        # The broken producer's pending records time out with their requests (503, retried).
        self._producer, self._fatal = Producer(self._config), None

    async def check_ready(self) -> None:
        """Raise unless Kafka answers a metadata request right now."""
        producer = self._producer
        if producer is None:
            raise KafkaUnavailable("the Kafka producer is not running")
        try:
            metadata = await asyncio.to_thread(producer.list_topics, timeout=READY_TIMEOUT_SECONDS)
        except KafkaException as error:
            raise KafkaUnavailable(f"Kafka did not answer a metadata request: {error.args[0]}") from None
        if not metadata.brokers:
            raise KafkaUnavailable("Kafka reported no brokers")

    async def stop(self) -> None:
        """Stop polling, then deliver what is buffered (graceful shutdown).

        The poll thread stops first so that delivery reports are only ever
        handled on one thread at a time: now the flushing one.
        """
        self._running.clear()
        if self._poller is not None:
            await asyncio.to_thread(self._poller.join)
        producer = self._producer
        if producer is not None:
            remaining = await asyncio.to_thread(producer.flush, FLUSH_TIMEOUT_SECONDS)
            if remaining:
                log.error("records not delivered at shutdown", extra={"records": remaining})
        self._hand_over_settled()
        self._producer = None


def _expire(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_exception(TimeoutError())


def _resolve(settled: list[_BatchAcknowledgement]) -> None:
    """On the event loop: finish the requests whose batches are settled."""
    for acknowledgement in settled:
        if acknowledgement.future.done():
            continue  # the request already gave up waiting
        if acknowledgement.error is None:
            acknowledgement.future.set_result(None)
        else:
            acknowledgement.future.set_exception(KafkaException(acknowledgement.error))
