"""The workers' faust consumer hands a record straight to the streams when its delivery cannot block,
and races it against a suspended flow, as faust does, whenever it could."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import web
from faust.transport.drivers.aiokafka import Consumer as FaustConsumer
from sportsfeed_common.faust_consumer import DirectHandoffConsumer
from sportsfeed_common.faust_worker import worker_app
from sportsfeed_common.settings import load_settings
from sportsfeed_stream_processor.settings import ProcessorSettings


@pytest.fixture
async def consumer(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[tuple[Any, list[int]]]:
    settings = load_settings(ProcessorSettings, {"KAFKA_BOOTSTRAP_SERVERS": "127.0.0.1:1"})
    app = worker_app(settings, web.Application(), producer_linger=0.0, loop=asyncio.get_running_loop())
    raced: list[int] = []  # the number of awaitables of each wait_first faust itself ran

    async def faust_wait_first(self: Any, *coros: Any, timeout: Any = None) -> None:
        raced.append(len(coros))
        for coro in coros:
            coro.close()

    monkeypatch.setattr(FaustConsumer, "wait_first", faust_wait_first)
    app.flow_control.resume()  # as a running worker's, between rebalances
    yield app.consumer, raced
    app.consumer._thread.thread_loop.close()
    if app._producer is not None:
        await app._producer.stop()


async def test_the_workers_consume_with_the_direct_handoff(consumer: tuple[Any, list[int]]) -> None:
    assert isinstance(consumer[0], DirectHandoffConsumer)


async def test_a_delivery_that_cannot_block_is_awaited_directly(consumer: tuple[Any, list[int]]) -> None:
    kafka_consumer, raced = consumer
    delivered: list[str] = []

    async def deliver() -> None:
        delivered.append("record")

    result = await kafka_consumer.wait_first(deliver(), kafka_consumer.suspend_flow.wait())
    assert delivered == ["record"] and raced == [] and not result.stopped


@pytest.mark.parametrize("suspended", ["flow control", "the consumer's flow"])
async def test_a_delivery_is_raced_as_faust_does_while_the_flow_is_suspended(
        consumer: tuple[Any, list[int]], suspended: str) -> None:
    kafka_consumer, raced = consumer
    if suspended == "flow control":
        kafka_consumer.app.flow_control.suspend()
    else:
        kafka_consumer.suspend_flow.set()

    async def deliver() -> None:
        raise AssertionError("delivered past a suspended flow")

    await kafka_consumer.wait_first(deliver(), kafka_consumer.suspend_flow.wait())
    assert raced == [2]


async def test_a_delivery_is_raced_while_a_stream_queue_is_full(consumer: tuple[Any, list[int]]) -> None:
    kafka_consumer, raced = consumer
    topic = kafka_consumer.app.topic("odds.raw")
    kafka_consumer.app.topics.add(topic)
    while not topic.queue.full():
        topic.queue.put_nowait(object())

    async def deliver() -> None:
        raise AssertionError("delivered into a full queue")

    await kafka_consumer.wait_first(deliver(), kafka_consumer.suspend_flow.wait())
    assert raced == [2]


async def test_other_waits_are_faust_s_own(consumer: tuple[Any, list[int]]) -> None:
    kafka_consumer, raced = consumer
    other = asyncio.Event()

    async def deliver() -> None:
        raise AssertionError("not a record's delivery")

    await kafka_consumer.wait_first(deliver(), other.wait())
    await kafka_consumer.wait_first(deliver())
    assert raced == [2, 1]
