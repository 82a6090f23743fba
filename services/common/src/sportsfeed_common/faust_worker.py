"""The skeleton of the platform's faust-streaming workers (persistence, the stream processor).

One app builder with the settings both need, their HTTP side as a plain aiohttp app, JSON logs,
the direct producer send, the dead-letter parker with its one header contract, the consumer lag
timer, and batches of whatever has arrived.

Needs the ``faust`` extra of this library (``sportsfeed-common[faust]``); the
aiohttp-only services never import it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Sequence
from typing import Any, Protocol

import faust
import mode
from aiohttp import web
from faust.types import TP
from mode.utils.aiter import aiter
from mode.utils.futures import notify
from prometheus_client import Gauge

from .faust_consumer import use_direct_handoff
from .kafka_security import MSK_IAM, KafkaSecurity, aiokafka_security
from .logs import configure_logging
from .topics import TopicSpec, dead_letter, dead_letter_headers

log = logging.getLogger(__name__)

LAG_REPORT_INTERVAL_SECONDS = 5.0
# take_arrived: turns of the event loop in which the stream's drainer may add nothing before the
# batch goes as it is (it needs a turn or two between events for its own bookkeeping).
MAX_IDLE_TURNS = 3
Headers = list[tuple[str, bytes]]


class WorkerSettings(Protocol):
    """What :func:`worker_app` reads of a worker's settings (each worker's settings struct has these)."""

    kafka_bootstrap_servers: str
    kafka_security_protocol: str
    kafka_sasl_mechanism: str | None
    kafka_sasl_username: str | None
    kafka_sasl_password: Any
    aws_region: str
    consumer_group: str
    consumer_session_timeout_seconds: float
    data_dir: str
    host: str
    port: int


def worker_app(settings: WorkerSettings, web_app: web.Application, *, producer_linger: float,
               loop: asyncio.AbstractEventLoop | None = None, **options: Any) -> faust.App:
    """A worker's faust app, configured as the platform runs them; ``options`` add faust settings.

    Topics are never declared by faust (``sportsfeed-admin create-topics`` owns partition counts),
    keys and values are raw bytes (events are decoded once, by msgspec), every send waits for all
    in-sync replicas, and the HTTP side is ``web_app`` on the settings' host and port.
    """
    session_timeout = settings.consumer_session_timeout_seconds
    app = faust.App(
        settings.consumer_group,
        loop=loop,
        broker=[f"kafka://{server.strip()}" for server in settings.kafka_bootstrap_servers.split(",")],
        broker_credentials=broker_credentials(KafkaSecurity.of(settings)),  # type: ignore[arg-type]
        store="memory://",
        datadir=settings.data_dir,
        topic_allow_declare=False,
        topic_disable_leader=True,
        consumer_auto_offset_reset="earliest",
        broker_session_timeout=session_timeout,
        broker_heartbeat_interval=min(3.0, session_timeout / 3),
        producer_acks=-1,
        producer_linger=producer_linger,
        # faust's default (16 KB) splits a batch's outputs into a produce request per few records.
        producer_max_batch_size=1_000_000,
        web_enabled=True,  # served by web_app, not faust's own web views
        key_serializer="raw",
        value_serializer="raw",
        **options,
    )
    app.web_server(AiohttpServer(web_app, settings.host, settings.port))
    use_direct_handoff(app)
    return app


def bytes_topic(app: faust.App, name: str) -> faust.TopicT:
    return app.topic(name, key_type=bytes, value_type=bytes)


async def send(app: faust.App, topic: str, key: bytes | None, value: bytes,
               headers: Headers | None = None, partition: int | None = None) -> Awaitable[Any]:
    """Queue one record on the worker's producer; await the result for Kafka's acknowledgement.

    Straight to the producer: faust's ``Topic.send`` machinery costs more than the send itself,
    and the workers send once per update. ``partition`` None: the key's (Kafka's partitioner).
    """
    return await app.producer.send(topic, key, value, partition, None, headers)


class DeadLetters:
    """Parks what a worker gave up on in ``<source>.dlq``: the original key and bytes, and headers
    saying where it came from and why (:func:`~sportsfeed_common.topics.dead_letter_headers`)."""

    def __init__(self, app: faust.App, source: TopicSpec) -> None:
        self._app = app
        self._source = source.name
        self._topic = dead_letter(source).name

    async def park(self, key: bytes | None, value: bytes, partition: int, offset: int,
                   error: str) -> Awaitable[Any]:
        """Queue the parked message; await the result for Kafka's acknowledgement."""
        log.warning("message parked in the dead-letter topic", extra={
            "topic": self._source, "partition": partition, "offset": offset, "error": error})
        return await send(self._app, self._topic, key, value,
                          dead_letter_headers(self._source, partition, offset, error))


def broker_credentials(security: KafkaSecurity) -> Any:
    """faust's ``broker_credentials`` for the Kafka security settings (None: plaintext). faust hands
    them to aiokafka as :func:`~sportsfeed_common.kafka_security.aiokafka_security` would."""
    options = aiokafka_security(security)
    context = options.get("ssl_context")
    if security.mechanism == MSK_IAM:
        return faust.OAuthCredentials(oauth_cb=options["sasl_oauth_token_provider"], ssl_context=context)
    if security.mechanism is not None:
        return faust.SASLCredentials(username=options["sasl_plain_username"],
                                     password=options["sasl_plain_password"], mechanism=security.mechanism,
                                     ssl_context=context)
    return faust.SSLCredentials(context) if context is not None else None


class AiohttpServer(mode.Service):
    """Serves an aiohttp application on ``host:port`` while the faust worker runs; stops with it.

    Registered with ``App.web_server`` (faust-streaming 0.15), it replaces
    faust's own web views: the worker's HTTP side is then a plain aiohttp app
    with the platform's JSON errors, health and metrics.
    """

    def __init__(self, app: web.Application, host: str, port: int, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._app = app
        self._host = host
        self._port = port
        self._runner: web.AppRunner | None = None

    @property
    def web_url(self) -> str:
        return f"http://{self._host}:{self._port}"

    async def on_start(self) -> None:
        self._runner = web.AppRunner(self._app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, self._host, self._port).start()
        self.log.info("HTTP server listening on %s", self.web_url)

    async def on_stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()


class JsonLoggingWorker(faust.Worker):
    """A faust worker that logs JSON lines like every other service.

    The worker installs its own log format when it starts; this hook runs right
    after, so JSON wins. Its terminal spinner is dropped too: its escape codes
    would land in the log between JSON lines.
    """

    service_name = "worker"

    def __init__(self, *args: Any, service_name: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.service_name = service_name
        self.spinner = None

    def on_setup_root_logger(self, logger: logging.Logger, level: int) -> None:
        configure_logging(self.service_name, logging.getLevelName(level))
        # faust warns "producer buffer full" whenever table writes outpace the producer by 100
        # messages: that is its flow control working (processing waits), many times a second.
        logging.getLogger("faust.transport.producer").setLevel(logging.ERROR)


def track_consumer_lag(app: faust.App, gauge: Gauge) -> ConsumerLag:
    """A :class:`ConsumerLag` whose gauge the app refreshes every few seconds; tell it what was processed."""
    lag = ConsumerLag(gauge)

    @app.timer(LAG_REPORT_INTERVAL_SECONDS)
    async def report_consumer_lag() -> None:
        await lag.report(app.consumer)

    return lag


class ConsumerLag:
    """Messages on each assigned partition not yet processed, for a lag gauge.

    Measured from what was processed, not from the fetch position: each
    partition's high-water mark minus the next offset to process. Before a
    worker has processed anything from a partition, its fetch position stands
    in (it can run ahead by one fetch, so it errs low, never high).
    """

    def __init__(self, gauge: Gauge) -> None:
        self._gauge = gauge  # labelled by topic and partition
        self._next_offset: dict[TP, int] = {}

    def processed(self, events: Sequence[faust.EventT]) -> None:
        for event in events:
            self._next_offset[event.message.tp] = event.message.offset + 1

    async def report(self, consumer: Any) -> None:
        assigned = consumer.assignment()
        for tp in list(self._next_offset):
            if tp not in assigned:  # moved to another worker by a rebalance: not ours to report
                del self._next_offset[tp]
                self._gauge.remove(tp.topic, str(tp.partition))
        if not assigned:
            return
        for tp, highwater in (await consumer.highwaters(*assigned)).items():
            next_offset = self._next_offset.get(tp)
            if next_offset is None:
                next_offset = await consumer.position(tp) or 0
            self._gauge.labels(tp.topic, str(tp.partition)).set(max(0, highwater - next_offset))


async def take_arrived(stream: faust.StreamT, max_events: int, *,
                       acks_deferred: bool = False) -> AsyncIterator[list[faust.EventT]]:
    """Batches of whatever has arrived, at most ``max_events``: waits for the first event only.

    faust's ``take_events`` waits out its ``within`` window unless the buffer fills, so at low
    rates every event waits the whole window, and an idle stream wakes once per window. Here a
    batch is what the consumer had delivered by the time the agent runs again: one event when
    idle (at once), up to ``max_events`` under load, and no timer at all while nothing arrives.

    Built like ``take_events`` (faust-streaming 0.15): a stream processor buffers each event
    while the stream is drained passively; events are acked once the agent's body returns, so
    offsets never pass an event whose batch was not handled. With ``acks_deferred`` they are not:
    the caller acks each batch with :func:`ack_events` once it is done with it, which may be after
    it has taken the next batch.
    """
    buffer: list[faust.EventT] = []
    arrived = asyncio.Event()  # the buffer holds something
    consumed = asyncio.Event()  # a full buffer was handed over: the drainer may go on
    handing_over: asyncio.Future[None] | None = None  # set while the agent handles a batch
    acks_were_enabled = stream.enable_acks

    async def add_to_buffer(value: Any) -> Any:
        nonlocal handing_over
        if handing_over is not None:  # no event joins a batch the agent is handling
            try:
                await handing_over
            finally:
                handing_over = None
        event = stream.current_event
        if event is None:
            raise RuntimeError("take_arrived found no current event")
        buffer.append(event)
        arrived.set()
        if len(buffer) >= max_events:
            consumed.clear()
            await stream.wait(consumed)
        return value

    async def take_what_is_queued() -> None:
        """Let the drainer move what the consumer already delivered into the buffer.

        It hands over one event per turn of the loop (faust's stream iterator yields between
        events), so without this a busy stream would give batches of one or two, each paying for
        its own round trips to Kafka. It stops as soon as the channel is empty (nothing is waited
        for), the buffer is full, or the drainer makes no progress (paused).
        """
        queue = stream.channel.queue
        idle_turns = 0
        while len(buffer) < max_events and not queue.empty() and idle_turns < MAX_IDLE_TURNS:
            before = len(buffer)
            await asyncio.sleep(0)
            idle_turns = idle_turns + 1 if len(buffer) == before else 0

    stream.enable_acks = False  # acked below, once handled
    stream.add_processor(add_to_buffer)
    stream._enable_passive(aiter(stream.channel))  # noqa: SLF001  (how take_events drains, too)
    try:
        while not stream.should_stop:
            await stream.wait_for_stopped(arrived)
            await take_what_is_queued()
            if not buffer:
                continue
            handing_over = asyncio.get_running_loop().create_future()
            events = list(buffer)
            try:
                yield events
            finally:
                buffer.clear()
                if not acks_deferred:
                    await ack_events(stream, events)
                notify(handing_over)
                arrived.clear()
                consumed.set()
    finally:
        stream.enable_acks = acks_were_enabled
        stream._processors.remove(add_to_buffer)  # noqa: SLF001


async def ack_events(stream: faust.StreamT, events: Sequence[faust.EventT]) -> None:
    """Ack a batch taken with ``take_arrived``: its offsets may be committed from now on."""
    for event in events:
        await stream.ack(event)
