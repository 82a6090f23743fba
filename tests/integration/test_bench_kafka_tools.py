"""Kafka's ProducerPerformance and EndToEndLatency, run by the benchmark suite's wrapper against
a real broker: the summaries are parsed into sane figures, and every way of failing ends in
one clear error, in bounded time, with the tool stopped.

Figures are checked for sense, never against a speed (no test asserts a timing).
"""

from __future__ import annotations

import asyncio
import uuid

import psutil
import pytest
from sportsfeed_bench.kafka_tools import (
    PRODUCER_PERFORMANCE,
    KafkaToolError,
    end_to_end_latency,
    parse_end_to_end_latency,
    parse_producer_performance,
    producer_performance,
    run_kafka_tool,
)
from sportsfeed_common.topics import TopicSpec
from sportsfeed_devstack.config import free_port

from ..conftest import Servers

pytestmark = pytest.mark.integration

# Long enough for a JVM to start on a busy machine; a wrapper that hangs fails the test instead.
ERROR_DEADLINE_SECONDS = 90


def private_topic(partitions: int) -> TopicSpec:
    return TopicSpec(f"bench.test-{uuid.uuid4().hex[:8]}", partitions)


def test_the_summaries_are_parsed_from_the_tools_own_lines() -> None:
    producer = parse_producer_performance([
        "98716 records sent, 19739.3 records/sec (3.77 MB/sec), 6.2 ms avg latency, 301.0 ms max latency.",
        "200000 records sent, 21258.503401 records/sec (4.05 MB/sec), 5.87 ms avg latency, 301.00 ms max latency, "
        "3 ms 50th, 17 ms 95th, 40 ms 99th, 210 ms 99.9th.",
    ], record_size=200)
    assert producer is not None
    assert (producer.records, producer.records_per_second, producer.mb_per_second) == (200_000, 21258.503401, 4.05)
    assert (producer.latency_avg_ms, producer.latency_p50_ms, producer.latency_p95_ms, producer.latency_p99_ms,
            producer.latency_p999_ms, producer.latency_max_ms) == (5.87, 3, 17, 40, 210, 301)
    # A progress line alone (the run died before its end) is no summary.
    assert parse_producer_performance(["5 records sent, 1.0 records/sec (0.00 MB/sec), 1.0 ms avg latency, "
                                       "2.0 ms max latency."], 200) is None

    latency = parse_end_to_end_latency(
        ["0\t41.529167", "1000\t0.8701", "Avg latency: 1.2345 ms", "Percentiles: 50th = 1, 99th = 3, 99.9th = 12"],
        messages=2_000, message_size=100)
    assert latency is not None
    assert (latency.latency_avg_ms, latency.latency_p50_ms, latency.latency_p99_ms, latency.latency_p999_ms) == (
        1.2345, 1, 3, 12)
    assert parse_end_to_end_latency(["Avg latency: 1.2345 ms"], 2_000, 100) is None


async def test_producer_performance_reports_every_record_acknowledged(servers: Servers) -> None:
    records, size = 20_000, 200
    result = await producer_performance(servers.kafka_bootstrap, records, size, topic=private_topic(3))
    assert result.records == records and result.record_size == size
    assert result.records_per_second > 0
    # The tool's MB is 2^20 bytes, printed to two decimals.
    assert result.mb_per_second == pytest.approx(result.records_per_second * size / 2**20, abs=0.01)
    assert 0 < result.latency_avg_ms <= result.latency_max_ms
    assert 0 <= result.latency_p50_ms <= result.latency_p95_ms <= result.latency_p99_ms <= result.latency_p999_ms
    # Percentiles are truncated to whole milliseconds, so the 99.9th may sit just under the maximum.
    assert result.latency_p999_ms <= result.latency_max_ms


async def test_end_to_end_latency_reports_average_and_percentiles(servers: Servers) -> None:
    result = await end_to_end_latency(servers.kafka_bootstrap, 500, 100, topic=private_topic(1))
    assert (result.messages, result.message_size) == (500, 100)
    assert 0 < result.latency_avg_ms < 10_000
    assert 0 <= result.latency_p50_ms <= result.latency_p99_ms <= result.latency_p999_ms < 10_000


async def test_a_broker_that_does_not_answer_is_named_in_the_error() -> None:
    nowhere = f"127.0.0.1:{free_port()}"
    async with asyncio.timeout(ERROR_DEADLINE_SECONDS):
        with pytest.raises(KafkaToolError, match=f"no Kafka broker answers at {nowhere}"):
            await producer_performance(nowhere, 1_000, 100)
        with pytest.raises(KafkaToolError, match=f"no Kafka broker answers at {nowhere}"):
            await end_to_end_latency(nowhere, 10, 100)


async def test_a_topic_the_broker_refuses_is_named_in_the_error(servers: Servers) -> None:
    refused = TopicSpec("not a valid topic name!", 1)
    async with asyncio.timeout(ERROR_DEADLINE_SECONDS):
        with pytest.raises(KafkaToolError, match="topic 'not a valid topic name!' cannot be created"):
            await producer_performance(servers.kafka_bootstrap, 1_000, 100, topic=refused)
        with pytest.raises(KafkaToolError, match="topic 'not a valid topic name!' cannot be created"):
            await end_to_end_latency(servers.kafka_bootstrap, 10, 100, topic=refused)


async def test_a_failing_tool_raises_with_the_tail_of_its_output() -> None:
    async with asyncio.timeout(ERROR_DEADLINE_SECONDS):
        with pytest.raises(KafkaToolError) as raised:
            await run_kafka_tool(PRODUCER_PERFORMANCE, "--no-such-option", timeout=ERROR_DEADLINE_SECONDS,
                                 progress=lambda line: None)
    message = str(raised.value)
    assert "ProducerPerformance failed (exit status 1)" in message
    assert "unrecognized arguments" in message  # the tool's own words, from its output


async def test_a_tool_running_past_its_timeout_is_stopped_and_reported(servers: Servers) -> None:
    topic = private_topic(1)
    async with asyncio.timeout(ERROR_DEADLINE_SECONDS):
        # Ten million round trips, one at a time, cannot finish in eight seconds anywhere.
        with pytest.raises(KafkaToolError, match="EndToEndLatency did not finish within 8 s"):
            await end_to_end_latency(servers.kafka_bootstrap, 10_000_000, 100, topic=topic, timeout=8)
    still_running = [
        process.pid for process in psutil.process_iter(["cmdline"])
        if topic.name in (process.info["cmdline"] or [])
    ]
    assert still_running == []
