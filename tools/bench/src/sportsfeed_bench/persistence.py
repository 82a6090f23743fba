"""Persistence end to end: updates stored per second through Kafka -> worker -> DynamoDB ->
``odds.stored``, next to a raw BatchWriteItem loop against the same DynamoDB Local in the same run.

A round produces N records to ``odds.raw`` exactly as ingest would, and is timed from the first
send until the last of their N update ids appears on ``odds.stored``: the worker publishes an
update only after it is written, so that is the moment all N are stored. Each round is then
checked against the table itself: every update of the round stored, once.
"""

from __future__ import annotations

import argparse
import asyncio
import time
import uuid
from collections import Counter
from dataclasses import dataclass
from typing import Any

import aioboto3
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord, TopicPartition
from sportsfeed_common.aws import dynamodb_client_kwargs
from sportsfeed_common.events import OddsUpdate, decode
from sportsfeed_common.settings import CommonSettings, load_settings
from sportsfeed_common.table import ODDS_PREFIX
from sportsfeed_common.topics import ODDS_RAW, ODDS_STORED
from sportsfeed_devstack.applications import SIMULATED_PROVIDER
from sportsfeed_devstack.stack import Stack

from .ingest import Measurement
from .report import machine, median, print_table
from .storage import odds_items, raw_batch_write_loop
from .workload import Workload

TARGET_RATIO = 0.8  # the worker's rate at most a fifth below the raw BatchWriteItem loop's
# How long a round may take before it counts as failed: generous, because a round that
# misses it has lost updates (or the worker has stalled), not merely run slowly.
DEADLINE_FACTOR = 10
DEADLINE_MARGIN_SECONDS = 60.0
POLL_SECONDS = 1.0  # upper bound on one fetch from odds.stored, so the deadline is checked


class BenchFailure(RuntimeError):
    """The benchmark could not measure what it promised; the message says what happened."""


@dataclass(frozen=True)
class RunBatch:
    """N records of one run, as ingest would produce them, and the update ids they carry."""

    records: list[tuple[bytes, bytes]]
    ids: frozenset[str]
    games: frozenset[bytes]  # the records' keys (gameIds): no other run uses them

    @classmethod
    def build(cls, count: int) -> RunBatch:
        records = Workload(uuid.uuid4().hex[:8]).records(count, SIMULATED_PROVIDER)
        return cls(
            records=records,
            ids=frozenset(decode(value, OddsUpdate).id for _, value in records),
            games=frozenset(key for key, _ in records),
        )

    def __len__(self) -> int:
        return len(self.records)

    def ids_in(self, stored: list[ConsumerRecord]) -> set[str]:
        """The ids of this run among records read from ``odds.stored`` (other runs' are skipped undecoded)."""
        return {decode(record.value, OddsUpdate).id for record in stored if record.key in self.games}


class StoredWatch:
    """A consumer of every partition of ``odds.stored``, positioned at the end when entered,
    so it sees only what the worker publishes afterwards."""

    def __init__(self, bootstrap: str) -> None:
        self._consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)

    async def __aenter__(self) -> StoredWatch:
        await self._consumer.start()
        # The private stack's topics were created from these specs moments ago.
        partitions = [TopicPartition(ODDS_STORED.name, p) for p in range(ODDS_STORED.partitions)]
        self._consumer.assign(partitions)
        await self._consumer.seek_to_end(*partitions)  # returns once every position is resolved
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._consumer.stop()

    async def wait_for(self, batch: RunBatch, deadline: float) -> float:
        """The ``perf_counter`` time at which the last id of ``batch`` arrived; fails at ``deadline``."""
        seen: set[str] = set()
        while not batch.ids <= seen:
            remaining = deadline - time.perf_counter()
            if remaining <= 0:
                raise BenchFailure(
                    f"only {len(seen & batch.ids):,} of {len(batch):,} updates reached {ODDS_STORED.name} "
                    "before the deadline: the worker stalled or lost updates"
                )
            fetched = await self._consumer.getmany(timeout_ms=int(min(remaining, POLL_SECONDS) * 1000))
            for records in fetched.values():
                seen |= batch.ids_in(records)
        return time.perf_counter()


async def produce(bootstrap: str, records: list[tuple[bytes, bytes]]) -> None:
    """Every record to ``odds.raw``, keyed by gameId, with ingest's producer guarantees."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", enable_idempotence=True, linger_ms=2)
    await producer.start()
    try:
        acknowledgements = [await producer.send(ODDS_RAW.name, value, key=key) for key, value in records]
        await asyncio.gather(*acknowledgements)
    finally:
        await producer.stop()


async def through_worker(bootstrap: str, batch: RunBatch, timeout: float) -> Measurement:
    """Items stored per second: from the first record produced to the last id seen on ``odds.stored``."""
    async with StoredWatch(bootstrap) as watch:
        started = time.perf_counter()
        arrival = asyncio.create_task(watch.wait_for(batch, started + timeout))
        try:
            await produce(bootstrap, batch.records)
            last_seen = await arrival
        finally:
            arrival.cancel()  # when producing failed; a no-op once it is done
    return Measurement("worker: odds.raw -> odds.stored", len(batch), last_seen - started)


@dataclass(frozen=True)
class TableCheck:
    lost: int  # updates of the run with no item in the table
    unexpected: int  # items beyond one per update (under the run's games)

    @property
    def exact(self) -> bool:
        return self.lost == 0 and self.unexpected == 0


async def check_table(client: Any, table: str, batch: RunBatch) -> TableCheck:
    """Query every game of the run (a Query per game, never a Scan) and count its odds items by id."""
    stored: Counter[str] = Counter()
    for game in batch.games:
        arguments: dict[str, Any] = {
            "TableName": table,
            "KeyConditionExpression": "PK = :game AND begins_with(SK, :odds)",
            "ExpressionAttributeValues": {":game": {"S": game.decode()}, ":odds": {"S": ODDS_PREFIX}},
            "ProjectionExpression": "#id",
            "ExpressionAttributeNames": {"#id": "ID"},
        }
        while True:
            response = await client.query(**arguments)
            stored.update(item["ID"]["S"] for item in response["Items"])
            if "LastEvaluatedKey" not in response:
                break
            arguments["ExclusiveStartKey"] = response["LastEvaluatedKey"]
    return TableCheck(lost=len(batch.ids - stored.keys()), unexpected=stored.total() - len(batch.ids & stored.keys()))


@dataclass(frozen=True)
class Round:
    raw: Measurement
    worker: Measurement
    check: TableCheck

    @property
    def ratio(self) -> float:
        """Of this round alone: its two halves ran back to back, so machine noise hit both alike."""
        return self.worker.rate / self.raw.rate


async def measure_round(client: Any, table: str, bootstrap: str, count: int) -> Round:
    """The raw loop first: its time sets the deadline of the run through the worker."""
    raw = await raw_batch_write_loop(client, table, odds_items(count))
    batch = RunBatch.build(count)
    worker = await through_worker(bootstrap, batch, DEADLINE_FACTOR * raw.seconds + DEADLINE_MARGIN_SECONDS)
    check = await check_table(client, table, batch)
    if not check.exact:
        raise BenchFailure(
            f"the table does not hold every update of the round exactly once: lost {check.lost:,}, "
            f"unexpected {check.unexpected:,} (of {count:,})"
        )
    return Round(raw, worker, check)


async def measure_rounds(stack: Stack, args: argparse.Namespace) -> list[Round]:
    config = stack.config
    settings = load_settings(CommonSettings, config.service_environment())
    table = settings.dynamodb_table
    rounds: list[Round] = []
    async with aioboto3.Session().client("dynamodb", **dynamodb_client_kwargs(settings)) as client:
        # The first batch also waits for the worker's consumer group to settle.
        print(f"\nWarm-up: {args.warmup:,} items, raw and through the worker...", flush=True)
        await measure_round(client, table, config.kafka_bootstrap, args.warmup)
        for number in range(1, args.rounds + 1):
            rounds.append(await measure_round(client, table, config.kafka_bootstrap, args.records))
            done = rounds[-1]
            print(f"  round {number}/{args.rounds}: raw {done.raw.rate:,.0f} items/s, "
                  f"worker {done.worker.rate:,.0f} items/s (ratio {done.ratio:.2f}), lost {done.check.lost}", flush=True)
    return rounds


def worker_log_tail(stack: Stack) -> str:
    """The private stack's state folder goes when the command ends: show the worker's last words now."""
    worker = next(server for server in stack.servers if server.name == "persistence")
    return f"last lines of the worker's log:\n{worker.process.log_tail()}"


async def bench_persistence(stack: Stack, args: argparse.Namespace) -> dict:
    try:
        rounds = await measure_rounds(stack, args)
    except BenchFailure as failure:
        raise BenchFailure(f"{failure}\n{worker_log_tail(stack)}") from None
    raw, worker = median([r.raw for r in rounds]), median([r.worker for r in rounds])
    ratio = worker.rate / raw.rate
    lost = sum(r.check.lost for r in rounds)
    print_table(f"Persistence end to end, median of {args.rounds} interleaved rounds (same Kafka, same DynamoDB "
                "Local)", worker, [raw])
    verdict = "met" if ratio >= TARGET_RATIO else "NOT met"
    print(f"  lost {lost} (every update of every round found in the table exactly once)")
    print(f"  target ratio {TARGET_RATIO}: {verdict}")
    return {
        "machine": machine(),
        "records_per_round": args.records,
        "rounds": {"raw": [r.raw.to_json() for r in rounds], "worker": [r.worker.to_json() for r in rounds]},
        "round_ratios": [round(r.ratio, 3) for r in rounds],
        "lost": [r.check.lost for r in rounds],
        "median": {"raw": raw.to_json(), "worker": worker.to_json()},
        "ratio": round(ratio, 3),
        "target_ratio": TARGET_RATIO,
        "target_met": verdict == "met",
    }
