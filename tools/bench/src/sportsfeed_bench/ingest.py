"""Ingest throughput: accepted updates per second through ``POST /v1/odds`` (batches of 10,
keep-alive connections) next to a raw aiokafka producer sending the same records to the same
broker in the same run."""

from __future__ import annotations

import asyncio
import time
import uuid
from dataclasses import asdict, dataclass

import aiohttp
from aiokafka import AIOKafkaProducer
from confluent_kafka import Producer
from hdrh.histogram import HdrHistogram
from sportsfeed_common.topics import ODDS_RAW

from .workload import Workload

PROGRESS_INTERVAL_SECONDS = 2.0


@dataclass
class Measurement:
    name: str
    updates: int
    seconds: float
    errors: int = 0
    p50_ms: float | None = None
    p99_ms: float | None = None

    @property
    def rate(self) -> float:
        return self.updates / self.seconds if self.seconds else 0.0

    def to_json(self) -> dict:
        return {**asdict(self), "updates_per_second": round(self.rate, 1)}


async def raw_producer(bootstrap: str, records: list[tuple[bytes, bytes]]) -> Measurement:
    """The baseline: the same records, the same producer settings as ingest, no HTTP in between."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", enable_idempotence=True, linger_ms=2)
    await producer.start()
    try:
        started = time.perf_counter()
        acknowledgements = [await producer.send(ODDS_RAW.name, value, key=key) for key, value in records]
        await asyncio.gather(*acknowledgements)
        return Measurement("raw aiokafka producer", len(records), time.perf_counter() - started)
    finally:
        await producer.stop()


def raw_librdkafka_producer(bootstrap: str, records: list[tuple[bytes, bytes]]) -> Measurement:
    """The same records through librdkafka (confluent-kafka), the client ingest itself uses."""
    producer = Producer({"bootstrap.servers": bootstrap, "acks": "all", "enable.idempotence": True,
                         "linger.ms": 2, "partitioner": "murmur2_random"})
    delivered = 0

    def on_delivery(error: object, _message: object) -> None:
        nonlocal delivered
        delivered += error is None

    started = time.perf_counter()
    for key, value in records:
        while True:
            try:
                producer.produce(ODDS_RAW.name, value, key, on_delivery=on_delivery)
                break
            except BufferError:  # librdkafka's queue is full: let it drain
                producer.poll(0.01)
        producer.poll(0)
    producer.flush()
    return Measurement("raw librdkafka producer", delivered, time.perf_counter() - started,
                       errors=len(records) - delivered)


async def ingest_load(url: str, api_key: str, duration: float, connections: int, batch: int,
                      progress: bool = True) -> Measurement:
    """``connections`` clients, each posting batches back to back for ``duration`` seconds."""
    workload = Workload(uuid.uuid4().hex[:8])
    latencies = HdrHistogram(1, 60_000_000, 3)  # microseconds
    accepted = errors = 0
    deadline = time.perf_counter() + duration
    headers = {"Content-Type": "application/json", "X-API-Key": api_key}

    async def client(session: aiohttp.ClientSession) -> None:
        nonlocal accepted, errors
        while time.perf_counter() < deadline:
            body = workload.request_body(batch)
            sent = time.perf_counter()
            async with session.post(f"{url}/v1/odds", data=body, headers=headers) as response:
                await response.read()
                if response.status == 202:
                    accepted += batch
                    latencies.record_value(int((time.perf_counter() - sent) * 1_000_000))
                else:
                    errors += 1

    async def report() -> None:
        began, last = time.perf_counter(), 0
        while True:
            await asyncio.sleep(PROGRESS_INTERVAL_SECONDS)
            now_accepted = accepted
            print(f"    {time.perf_counter() - began:5.1f} s  accepted {now_accepted:>9,}  "
                  f"({(now_accepted - last) / PROGRESS_INTERVAL_SECONDS:,.0f} updates/s)", flush=True)
            last = now_accepted

    connector = aiohttp.TCPConnector(limit=connections)
    async with aiohttp.ClientSession(connector=connector) as session:
        reporter = asyncio.create_task(report()) if progress else None
        started = time.perf_counter()
        await asyncio.gather(*(client(session) for _ in range(connections)))
        elapsed = time.perf_counter() - started
        if reporter is not None:
            reporter.cancel()
    return Measurement(
        f"ingest POST /v1/odds (batches of {batch})", accepted, elapsed, errors,
        p50_ms=latencies.get_value_at_percentile(50) / 1000, p99_ms=latencies.get_value_at_percentile(99) / 1000,
    )
