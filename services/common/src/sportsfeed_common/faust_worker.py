"""What the platform's faust-streaming workers share: their HTTP server, JSON logs, consumer lag.

Needs the ``faust`` extra of this library (``sportsfeed-common[faust]``); the
aiohttp-only services never import it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Sequence
from typing import Any

import faust
import mode
from aiohttp import web
from faust.types import TP
from mode.utils.aiter import aiter
from mode.utils.futures import notify
from prometheus_client import Gauge

from .kafka_security import aiokafka_security, uses_tls
from .logs import configure_logging


def broker_credentials(security_protocol: str) -> faust.SSLCredentials | None:
    """faust's ``broker_credentials`` for KAFKA_SECURITY_PROTOCOL (None: plaintext)."""
    if uses_tls(security_protocol):
        return faust.SSLCredentials(aiokafka_security(security_protocol)["ssl_context"])
    return None


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


async def take_arrived(stream: faust.StreamT, max_events: int) -> AsyncIterator[list[faust.EventT]]:
    """Batches of whatever has arrived, at most ``max_events``: waits for the first event only.

    faust's ``take_events`` waits out its ``within`` window unless the buffer fills, so at low
    rates every event waits the whole window, and an idle stream wakes once per window. Here a
    batch is what the consumer had delivered by the time the agent runs again: one event when
    idle (at once), up to ``max_events`` under load, and no timer at all while nothing arrives.

    Built like ``take_events`` (faust-streaming 0.15): a stream processor buffers each event
    while the stream is drained passively; events are acked once the agent's body returns, so
    offsets never pass an event whose batch was not handled.
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

    stream.enable_acks = False  # acked below, once handled
    stream.add_processor(add_to_buffer)
    stream._enable_passive(aiter(stream.channel))  # noqa: SLF001  (how take_events drains, too)
    try:
        while not stream.should_stop:
            await stream.wait_for_stopped(arrived)
            if not buffer:
                continue
            handing_over = asyncio.get_running_loop().create_future()
            events = list(buffer)
            try:
                yield events
            finally:
                buffer.clear()
                for event in events:
                    await stream.ack(event)
                notify(handing_over)
                arrived.clear()
                consumed.set()
    finally:
        stream.enable_acks = acks_were_enabled
        stream._processors.remove(add_to_buffer)  # noqa: SLF001
