"""Persistence end to end: updates stored per second from ``odds.live`` into DynamoDB by the worker,
next to a raw BatchWriteItem loop against the same DynamoDB Local in the same run.

A round produces N LiveUpdates to ``odds.live`` as the stream processor would (each game's seqs
from 1), and is timed from the first send until the worker's consumer group has committed every
partition of ``odds.live`` up to the end offsets read right after producing: the worker commits a
batch's offsets only after DynamoDB acknowledged its write, so that is the moment all N are stored.
faust commits on a timer (every 2.8 s by default), so a round may read up to that much longer than
the worker took to write. Each round is then checked against the table itself: every update of
the round stored, once.
"""

from __future__ import annotations

import argparse
import asyncio
import time
import uuid
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import aioboto3
from aiokafka import TopicPartition
from sportsfeed_common.aws import dynamodb_client_kwargs
from sportsfeed_common.events import OddsUpdate, decode
from sportsfeed_common.settings import CommonSettings, load_settings
from sportsfeed_common.table import ODDS_PREFIX
from sportsfeed_common.times import now_millis
from sportsfeed_common.topics import ODDS_LIVE
from sportsfeed_devstack.applications import SIMULATED_PROVIDER
from sportsfeed_devstack.stack import Stack
from sportsfeed_persistence.settings import PersistenceSettings

from .ingest import Measurement
from .kafka_io import CommittedOffsets, produce, uncommitted
from .report import machine, median, print_table
from .storage import odds_items, raw_batch_write_loop
from .workload import Workload, live_records

TARGET_RATIO = 0.8  # the worker's rate at most a fifth below the raw BatchWriteItem loop's
# How long a round may take before it counts as failed: generous, because a round that
# misses it has lost updates (or the worker has stalled), not merely run slowly.
DEADLINE_FACTOR = 10
DEADLINE_MARGIN_SECONDS = 60.0
# Between two reads of the committed offsets: one small request to the broker each time, and well
# under faust's commit interval, so the polling itself adds little to a round's time.
POLL_SECONDS = 0.2
WORKER = "persistence"


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

    def live_records(self) -> list[tuple[bytes, bytes]]:
        """The same updates as the stream processor puts them on ``odds.live``, sequenced now."""
        return live_records(self.records, now_millis())


def persistence_group(stack: Stack) -> str:
    """The consumer group the stack's persistence worker commits in, read from the environment it
    was started with, as the worker reads it."""
    worker = next(server for server in stack.servers if server.name == WORKER)
    return load_settings(PersistenceSettings, worker.environment()).consumer_group


def _partitions(behind: Mapping[TopicPartition, int]) -> str:
    return ", ".join(f"{partition.partition}: {count:,}" for partition, count in sorted(behind.items()))


async def wait_until_stored(committed: CommittedOffsets, ends: Mapping[TopicPartition, int], deadline: float) -> float:
    """The ``perf_counter`` time at which the group had committed up to ``ends`` on every partition,
    that is, had stored every record below them; fails at ``deadline`` (a ``perf_counter`` time)."""
    behind: Mapping[TopicPartition, int] | None = None  # None until the broker has answered once
    while True:
        offsets = await committed.fetch()
        if offsets is not None:
            behind = uncommitted(ends, offsets)
            if not behind:
                return time.perf_counter()
        if time.perf_counter() >= deadline:
            where = f"{committed.topic.name}, consumer group {committed.group}"
            if behind is None:
                raise BenchFailure(f"the broker did not give the committed offsets ({where}) before the deadline")
            raise BenchFailure(
                f"{sum(behind.values()):,} records not yet stored before the deadline ({where}, behind on "
                f"partitions {_partitions(behind)}): the worker stalled or lost updates"
            )
        await asyncio.sleep(POLL_SECONDS)  # polling the broker for the group's progress, not a fixed wait


async def through_worker(bootstrap: str, group: str, batch: RunBatch, timeout: float) -> Measurement:
    """Items stored per second: from the first record produced to ``odds.live`` until the worker has
    committed (after storing) every record up to the end of every partition."""
    records = batch.live_records()  # built before the clock starts
    async with CommittedOffsets(bootstrap, group, ODDS_LIVE) as committed:
        started = time.perf_counter()
        # The end offsets right after producing, as far as the batch goes: nothing produced later
        # by anyone else is waited for.
        ends = await produce(bootstrap, ODDS_LIVE.name, records)
        stored = await wait_until_stored(committed, ends, started + timeout)
    return Measurement("worker: odds.live -> DynamoDB", len(batch), stored - started)


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


async def measure_round(client: Any, table: str, bootstrap: str, group: str, count: int) -> Round:
    """The raw loop first: its time sets the deadline of the run through the worker."""
    raw = await raw_batch_write_loop(client, table, odds_items(count))
    batch = RunBatch.build(count)
    worker = await through_worker(bootstrap, group, batch, DEADLINE_FACTOR * raw.seconds + DEADLINE_MARGIN_SECONDS)
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
    group = persistence_group(stack)
    rounds: list[Round] = []
    async with aioboto3.Session().client("dynamodb", **dynamodb_client_kwargs(settings)) as client:
        # The first batch also waits for the worker's consumer group to settle.
        print(f"\nWarm-up: {args.warmup:,} items, raw and through the worker...", flush=True)
        await measure_round(client, table, config.kafka_bootstrap, group, args.warmup)
        for number in range(1, args.rounds + 1):
            rounds.append(await measure_round(client, table, config.kafka_bootstrap, group, args.records))
            done = rounds[-1]
            print(f"  round {number}/{args.rounds}: raw {done.raw.rate:,.0f} items/s, "
                  f"worker {done.worker.rate:,.0f} items/s (ratio {done.ratio:.2f}), lost {done.check.lost}", flush=True)
    return rounds


def worker_log_tail(stack: Stack) -> str:
    """The private stack's state folder goes when the command ends: show the worker's last words now."""
    worker = next(server for server in stack.servers if server.name == WORKER)
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
