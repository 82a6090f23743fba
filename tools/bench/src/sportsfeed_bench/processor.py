"""Stream processor throughput: updates per second from ``odds.raw`` to ``odds.live``, next to a
raw aiokafka consume-and-produce pipe on the same broker in the same run.

A round produces N updates to ``odds.raw`` (as ingest does) and is timed from the first send
until the last of them has come out on ``odds.live`` with its seq. Each round is checked too: the
seqs of every game of the round are 1..n with no gap and no duplicate.

The baseline does what any Kafka-to-Kafka Python service must at least do: consume, produce each
record on, wait for the acknowledgements of a batch; nothing else.
"""

from __future__ import annotations

import argparse
import asyncio
import time
from collections import defaultdict
from dataclasses import dataclass

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from sportsfeed_common.events import LiveUpdate, decode
from sportsfeed_common.topics import NOT_LIVE_HEADER, ODDS_LIVE, ODDS_RAW, TopicSpec, create_topics
from sportsfeed_devstack.stack import Stack

from .ingest import Measurement
from .kafka_io import partitions_of, produce
from .persistence import BenchFailure, RunBatch
from .report import machine, median, print_table

PIPE_IN = TopicSpec("bench.pipe.in", ODDS_RAW.partitions)
PIPE_OUT = TopicSpec("bench.pipe.out", ODDS_LIVE.partitions)
DEADLINE_SECONDS = 300.0
POLL_SECONDS = 1.0


class Tail:
    """Every partition of ``topic`` from its end at entry: what arrives afterwards, for one run's keys."""

    def __init__(self, bootstrap: str, topic: TopicSpec) -> None:
        self._consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
        self._topic = topic

    async def __aenter__(self) -> Tail:
        await self._consumer.start()
        partitions = partitions_of(self._topic)
        self._consumer.assign(partitions)
        await self._consumer.seek_to_end(*partitions)
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._consumer.stop()

    async def collect(self, batch: RunBatch, deadline: float, sequenced: bool) -> tuple[float, list[bytes]]:
        """Values of the run's records until all have arrived; the time the last one did."""
        values: list[bytes] = []
        seen: set[tuple[object, int]] = set()
        while len(seen) < len(batch):
            remaining = deadline - time.perf_counter()
            if remaining <= 0:
                raise BenchFailure(f"only {len(seen):,} of {len(batch):,} updates came out of {self._topic.name} "
                                   "before the deadline")
            fetched = await self._consumer.getmany(timeout_ms=int(min(remaining, POLL_SECONDS) * 1000))
            for records in fetched.values():
                for record in records:
                    # Updates that were not new pass on unsequenced, for storage only (a run's never are).
                    if record.key in batch.games and NOT_LIVE_HEADER not in record.headers:
                        values.append(record.value)
                        # A LiveUpdate may come twice after a crash (same seq): count seqs, not records.
                        seen.add((record.key, decode(record.value, LiveUpdate).seq) if sequenced
                                 else (record.partition, record.offset))
        return time.perf_counter(), values


async def timed(bootstrap: str, into: TopicSpec, out_of: TopicSpec, batch: RunBatch,
                sequenced: bool) -> tuple[float, list[bytes]]:
    """Seconds from producing ``batch`` into one topic until all of it came out of the other; what came out."""
    async with Tail(bootstrap, out_of) as tail:
        started = time.perf_counter()
        arrival = asyncio.create_task(tail.collect(batch, started + DEADLINE_SECONDS, sequenced))
        try:
            await produce(bootstrap, into.name, batch.records)
            finished, values = await arrival
        finally:
            arrival.cancel()  # when producing failed; a no-op once it is done
    return finished - started, values


async def through_processor(bootstrap: str, batch: RunBatch) -> tuple[Measurement, int]:
    """Updates per second through the processor, and the number of gaps or duplicate seqs found."""
    seconds, values = await timed(bootstrap, ODDS_RAW, ODDS_LIVE, batch, sequenced=True)
    return Measurement("processor: odds.raw -> odds.live", len(batch), seconds), faults(values)


def faults(values: list[bytes]) -> int:
    """Seqs missing from 1..n, or given to two different updates, over every game of the run."""
    seqs: defaultdict[str, dict[int, str]] = defaultdict(dict)
    clashes = 0
    for value in values:
        live = decode(value, LiveUpdate)
        if seqs[live.game_id].setdefault(live.seq, live.id) != live.id:
            clashes += 1
    gaps = sum(max(by_seq) - len(by_seq) for by_seq in seqs.values())
    return gaps + clashes


async def raw_pipe(bootstrap: str, batch: RunBatch) -> Measurement:
    """The baseline: consume every record of ``bench.pipe.in`` and produce it to ``bench.pipe.out``,
    acknowledged a fetched batch at a time."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", enable_idempotence=True, linger_ms=2)
    await consumer.start()
    await producer.start()
    partitions = partitions_of(PIPE_IN)
    consumer.assign(partitions)
    await consumer.seek_to_end(*partitions)

    async def pipe() -> None:
        while True:
            fetched = await consumer.getmany(timeout_ms=100, max_records=500)
            acks = [await producer.send(PIPE_OUT.name, r.value, key=r.key) for rs in fetched.values() for r in rs]
            await asyncio.gather(*acks)

    piping = asyncio.create_task(pipe())
    try:
        seconds, _ = await timed(bootstrap, PIPE_IN, PIPE_OUT, batch, sequenced=False)
    finally:
        piping.cancel()
        await asyncio.gather(piping, return_exceptions=True)
        await producer.stop()
        await consumer.stop()
    return Measurement("raw aiokafka consume-produce pipe", len(batch), seconds)


@dataclass(frozen=True)
class Round:
    raw: Measurement
    processor: Measurement
    faults: int


async def bench_processor(stack: Stack, args: argparse.Namespace) -> dict:
    bootstrap = stack.config.kafka_bootstrap
    await create_topics(bootstrap, (PIPE_IN, PIPE_OUT))
    print(f"\nWarm-up: {args.warmup:,} updates through the pipe and the processor...", flush=True)
    await raw_pipe(bootstrap, RunBatch.build(args.warmup))
    await through_processor(bootstrap, RunBatch.build(args.warmup))
    rounds: list[Round] = []
    for number in range(1, args.rounds + 1):
        raw = await raw_pipe(bootstrap, RunBatch.build(args.records))
        processed, found = await through_processor(bootstrap, RunBatch.build(args.records))
        rounds.append(Round(raw, processed, found))
        print(f"  round {number}/{args.rounds}: raw pipe {raw.rate:,.0f}/s, processor {processed.rate:,.0f}/s "
              f"(ratio {processed.rate / raw.rate:.2f}), seq gaps or duplicates {found}", flush=True)
    raw, processed = median([r.raw for r in rounds]), median([r.processor for r in rounds])
    print_table(f"Stream processor throughput, median of {args.rounds} interleaved rounds (same broker)",
                processed, [raw])
    total_faults = sum(r.faults for r in rounds)
    print(f"  seq gaps or duplicates: {total_faults}")
    if total_faults:
        raise BenchFailure(f"{total_faults} seqs missing or given twice: sequencing is broken")
    return {
        "machine": machine(),
        "records_per_round": args.records,
        "rounds": {"raw_pipe": [r.raw.to_json() for r in rounds],
                   "processor": [r.processor.to_json() for r in rounds]},
        "median": {"raw_pipe": raw.to_json(), "processor": processed.to_json()},
        "ratio": round(processed.rate / raw.rate, 3),
        "seq_faults": total_faults,
    }
