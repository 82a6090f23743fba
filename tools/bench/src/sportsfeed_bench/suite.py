"""``sportsfeed-bench suite``: the whole platform on one private local stack, a fixed scenario matrix,
one table, the project's targets set against it, a JSON file and a plot of latency against load.

First the baselines, measured on the same servers in the same run: the storage ceiling (a raw
BatchWriteItem loop on DynamoDB Local, persistence's baseline), Kafka's ProducerPerformance and
EndToEndLatency tools, and a raw aiokafka consume-and-produce pipe. Then each stage's throughput
(persistence, the stream processor, the gateway's fan-out), end-to-end latency with 500 analysts
at the target loads (20, 500 and 1,000 updates/s by default), 5% slow consumers at the reference
design's peak of 500 updates/s, a 5,000-analyst reconnect storm, and last ingest's throughput (its
flood would take the storage ceiling minutes to drain, so the services after it are stopped first,
as in ``bench ingest``).

The latency loads are the targets' own, not shares of the storage ceiling: an update is pushed
before it is stored (ingest -> odds.raw -> stream processor -> odds.live -> gateway, persistence
storing odds.live beside it), so storage bounds how far it trails, reported as the storage lag,
not the push.

Every scenario counts updates sent, accepted, stored and delivered; a lost or duplicated update
fails the suite after the tables are printed. A missed target is reported in the targets table
and does not.
"""

from __future__ import annotations

import argparse
import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

import aioboto3
import boto3
from sportsfeed_common.aws import dynamodb_client_kwargs
from sportsfeed_common.settings import CommonSettings, load_settings
from sportsfeed_common.table import create_table
from sportsfeed_common.topics import ODDS_RAW, create_topics
from sportsfeed_devstack.applications import SIMULATED_PROVIDER, LocalProviderKeys
from sportsfeed_devstack.stack import Stack

from .analysts import FRAMES_BATCH, FRAMES_ONE
from .gateway import DeliveryResult, deliveries, reconnect_storm
from .ingest import Measurement
from .kafka_io import end_offsets
from .kafka_tools import end_to_end_latency, producer_performance
from .latency import LatencyResult, hop_lines, measure_latency, storage_caught_up, storage_summary
from .persistence import BenchFailure, RunBatch, check_table, persistence_group, through_worker
from .processor import PIPE_IN, PIPE_OUT, raw_pipe, through_processor
from .push_servers import Centrifugo, FanoutBaseline, StackGateway
from .report import machine, median
from .results import (
    LatencyPoint,
    ScenarioResult,
    plot_latency_against_load,
    print_summary_table,
    write_json,
)
from .storage import odds_items, raw_batch_write_loop
from .targets import (
    REFERENCE_PEAK_RATE,
    TARGET_RATES,
    SuiteFigures,
    TargetRow,
    evaluate_targets,
    platform_cpu_ms_per_update,
    print_targets_table,
)
from .wrk import wrk_load

# An odds update as ingest produces it to odds.raw is about this size: the Kafka tools send the same.
RECORD_BYTES = 300
STAGE_DEADLINE_FACTOR = 20  # a stage run may take this many times its baseline's time (plus a margin)
STAGE_DEADLINE_MARGIN_SECONDS = 60.0
DOWNSTREAM_OF_INGEST = ("persistence", "stream-processor", "push-gateway")
# Ingest's load, as ``bench ingest`` drives it by default: keep-alive connections, updates per request.
INGEST_CONNECTIONS = 64
INGEST_BATCH = 10
INGEST_WARMUP_SECONDS = 3


@dataclass(frozen=True)
class SuiteOptions:
    analysts: int = 500
    games_per_analyst: int = 5
    seconds: float = 20.0  # measured seconds of each latency scenario
    warmup: float = 5.0
    rates: tuple[float, ...] = TARGET_RATES  # updates/s offered, one latency scenario each
    slow_share: float = 0.05
    slow_rate: float = REFERENCE_PEAK_RATE
    storm_clients: int = 5_000
    storage_items: int = 5_000
    kafka_records: int = 200_000
    latency_messages: int = 2_000
    processor_records: int = 10_000
    fanout_clients: int = 500
    ingest_seconds: float = 10.0
    client_processes: int = 2
    out: Path = Path("bench-results")

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> SuiteOptions:
        return cls(analysts=args.analysts, seconds=args.seconds, warmup=args.warmup, rates=tuple(args.rates),
                   storm_clients=args.storm_clients, client_processes=args.client_processes, out=args.out)


@dataclass
class Baselines:
    storage_items_per_second: float = 0.0  # the storage ceiling
    kafka_records_per_second: float = 0.0
    kafka_latency_p50_ms: float = 0.0
    kafka_latency_p99_ms: float = 0.0
    pipe_updates_per_second: float = 0.0


class Progress:
    """``[step/steps, elapsed] what``: a long run says where it is."""

    def __init__(self, steps: int) -> None:
        self._steps = steps
        self._step = 0
        self._started = time.monotonic()

    def next(self, what: str) -> None:
        self._step += 1
        elapsed = int(time.monotonic() - self._started)
        print(f"\n[{self._step}/{self._steps}, {elapsed // 60}m{elapsed % 60:02d}s] {what}", flush=True)


class Suite:
    def __init__(self, stack: Stack, options: SuiteOptions) -> None:
        self.stack = stack
        self.options = options
        self.bootstrap = stack.config.kafka_bootstrap
        self.settings = load_settings(CommonSettings, stack.config.service_environment())
        self.baselines = Baselines()
        self.results: list[ScenarioResult] = []
        self.latency_by_rate: dict[float, LatencyResult] = {}  # without slow consumers
        self.processor_updates_per_second: float | None = None
        self.gateway_us_per_message: float | None = None  # frames=batch
        self.centrifugo_us_per_message: float | None = None

    def steps(self) -> list[tuple[str, Callable[[], Awaitable[None]]]]:
        options = self.options
        return [
            ("Baselines: raw BatchWriteItem loop (the storage ceiling), Kafka ProducerPerformance and "
             "EndToEndLatency, a raw aiokafka pipe", self.measure_baselines),
            ("Persistence: odds.live -> DynamoDB", self.persistence_throughput),
            ("Stream processor: odds.raw -> odds.live", self.processor_throughput),
            (f"Gateway fan-out to {options.fanout_clients:,} analysts, next to a bare aiohttp broadcaster and "
             "Centrifugo v6",
             self.gateway_fanout),
            *[(f"End-to-end latency at {rate:,.0f} updates/s", self._latency_at(rate))
              for rate in sorted(options.rates)],
            (f"Slow consumers: {options.slow_share:.0%} of {options.analysts} analysts slow, at "
             f"{options.slow_rate:,.0f} updates/s", self.slow_consumers),
            (f"Reconnect storm: {options.storm_clients:,} analysts, the gateway restarted under them",
             self.storm),
            ("Ingest throughput (the services after ingest stopped)", self.ingest_throughput),
        ]

    async def run(self) -> None:
        steps = self.steps()
        progress = Progress(len(steps))
        for what, step in steps:
            progress.next(what)
            await step()

    # Baselines

    async def measure_baselines(self) -> None:
        options = self.options
        create_table(boto3.client("dynamodb", **dynamodb_client_kwargs(self.settings)), self.settings.dynamodb_table)
        async with aioboto3.Session().client("dynamodb", **dynamodb_client_kwargs(self.settings)) as client:
            await raw_batch_write_loop(client, self.settings.dynamodb_table, odds_items(500))  # warm-up
            storage = await raw_batch_write_loop(client, self.settings.dynamodb_table,
                                                 odds_items(options.storage_items))
        self.baselines.storage_items_per_second = storage.rate
        print(f"  raw BatchWriteItem loop: {storage.rate:,.0f} items/s (the storage ceiling)", flush=True)
        produced = await producer_performance(self.bootstrap, options.kafka_records, RECORD_BYTES)
        self.baselines.kafka_records_per_second = produced.records_per_second
        latency = await end_to_end_latency(self.bootstrap, options.latency_messages, RECORD_BYTES)
        self.baselines.kafka_latency_p50_ms = latency.latency_p50_ms
        self.baselines.kafka_latency_p99_ms = latency.latency_p99_ms
        await create_topics(self.bootstrap, (PIPE_IN, PIPE_OUT))
        pipe = await raw_pipe(self.bootstrap, RunBatch.build(options.processor_records))
        self.baselines.pipe_updates_per_second = pipe.rate
        print(f"  ProducerPerformance {produced.records_per_second:,.0f} records/s; EndToEndLatency p50 "
              f"{latency.latency_p50_ms:g} ms, p99 {latency.latency_p99_ms:g} ms; raw pipe {pipe.rate:,.0f}/s",
              flush=True)

    # Stage throughput

    async def persistence_throughput(self) -> None:
        count = self.options.storage_items
        batch = RunBatch.build(count)
        deadline = STAGE_DEADLINE_FACTOR * count / self.baselines.storage_items_per_second
        measured = await through_worker(self.bootstrap, persistence_group(self.stack), batch,
                                        deadline + STAGE_DEADLINE_MARGIN_SECONDS)
        async with aioboto3.Session().client("dynamodb", **dynamodb_client_kwargs(self.settings)) as client:
            check = await check_table(client, self.settings.dynamodb_table, batch)
        print(f"  {measured.rate:,.0f} items/s; in the table: lost {check.lost}, beyond one each {check.unexpected}",
              flush=True)
        self.results.append(ScenarioResult(
            scenario="persistence: odds.live -> DynamoDB", sent=count, stored=count - check.lost,
            duplicates=check.unexpected, throughput=measured.rate, throughput_unit="items/s",
            baseline_name="raw BatchWriteItem loop", baseline_figure=self.baselines.storage_items_per_second))

    async def processor_throughput(self) -> None:
        batch = RunBatch.build(self.options.processor_records)
        measured, seq_faults = await through_processor(self.bootstrap, batch)
        print(f"  {measured.rate:,.0f} updates/s; seq gaps or duplicates {seq_faults}", flush=True)
        self.processor_updates_per_second = measured.rate
        # Persistence stores what the processor put on odds.live, beside it: the next stage starts
        # once it has, not while it still competes for the same cores. Its deadline is set by the
        # time the storage ceiling needs for as many items.
        await storage_caught_up(self.stack, persistence_group(self.stack),
                                len(batch) / self.baselines.storage_items_per_second)
        self.results.append(ScenarioResult(
            scenario="processor: odds.raw -> odds.live", sent=len(batch), delivered=len(batch) - seq_faults,
            duplicates=seq_faults, throughput=measured.rate, baseline_name="raw aiokafka pipe",
            baseline_figure=self.baselines.pipe_updates_per_second))

    async def gateway_fanout(self) -> None:
        """The gateway (frames=one, then frames=batch) beside the bare broadcaster and Centrifugo as
        shipped: frames/s to the scenario table, server CPU per message to the targets."""
        clients = self.options.fanout_clients
        args = argparse.Namespace(client_processes=self.options.client_processes, rounds=3, frames=100_000,
                                  updates=200)
        results: dict[str, DeliveryResult] = {}
        for server in (FanoutBaseline(self.bootstrap), Centrifugo(self.bootstrap)):
            await server.prepare()
            server.start()
            try:
                results[server.name] = await deliveries(server, clients, args, self.bootstrap)
            finally:
                server.stop()
        gateway = StackGateway(self.stack)
        for frames in (FRAMES_ONE, FRAMES_BATCH):
            results[frames] = await deliveries(gateway, clients, args, self.bootstrap, frames)
        self.gateway_us_per_message = results[FRAMES_BATCH].median_cpu_us_per_message()
        self.centrifugo_us_per_message = results["centrifugo"].median_cpu_us_per_message()
        print(f"  server CPU per delivered message: gateway {results[FRAMES_ONE].median_cpu_us_per_message():.2f} us "
              f"(frames=one), {self.gateway_us_per_message:.2f} us (frames=batch); Centrifugo as shipped "
              f"{self.centrifugo_us_per_message:.2f} us; bare broadcaster "
              f"{results['baseline'].median_cpu_us_per_message():.2f} us", flush=True)
        for frames in (FRAMES_ONE, FRAMES_BATCH):
            gateway_result = results[frames]
            updates = gateway_result.updates_per_burst
            self.results.append(ScenarioResult(
                scenario=f"gateway fan-out (frames={frames}), {clients} analysts", sent=updates,
                delivered=updates - min(updates, gateway_result.tally.gaps),
                duplicates=gateway_result.tally.duplicates, throughput=median(gateway_result.rounds).rate,
                throughput_unit="frames/s", baseline_name="bare aiohttp broadcaster",
                baseline_figure=median(results["baseline"].rounds).rate,
                note=f"server CPU {gateway_result.median_cpu_us_per_message():.2f} us per message"))

    # End-to-end latency

    def _latency_at(self, rate: float) -> Callable[[], Awaitable[None]]:
        async def at_rate() -> None:
            self.latency_by_rate[rate] = await self._latency(f"latency at {rate:,.0f}/s", rate)
        return at_rate

    async def slow_consumers(self) -> None:
        options = self.options
        result = await self._latency(f"{options.slow_share:.0%} slow consumers at {options.slow_rate:,.0f}/s",
                                     options.slow_rate, slow_share=options.slow_share)
        slow_p99 = "-" if result.slow_p99_ms is None else f"{result.slow_p99_ms:,.0f}"
        print(f"  the {result.slow_analysts} slow analysts: p99 {slow_p99} ms, {result.conflated:,} updates "
              "conflated into later frames; the figures above are the others'", flush=True)

    async def _latency(self, scenario: str, rate: float, slow_share: float = 0.0) -> LatencyResult:
        options = self.options
        result = await measure_latency(self.stack, rate, options.seconds, options.analysts,
                                       options.games_per_analyst, options.warmup, options.client_processes,
                                       slow_share=slow_share)
        print(f"  sent {result.sent:,}, accepted {result.accepted:,}, stored {result.stored:,}, delivered "
              f"{result.delivered:,}; p50 {result.p50_ms:,.0f} ms, p95 {result.p95_ms:,.0f} ms, "
              f"p99 {result.p99_ms:,.0f} ms; {result.frames_per_second:,.0f} frames/s delivered", flush=True)
        print(f"  {storage_summary(result)}", flush=True)
        for line in hop_lines(result):
            print(f"    {line}", flush=True)
        self.results.append(ScenarioResult(
            scenario=scenario, offered_rate=rate, sent=result.sent, accepted=result.accepted, stored=result.stored,
            delivered=result.delivered, duplicates=result.duplicates, latency_p50_ms=result.p50_ms,
            latency_p95_ms=result.p95_ms, latency_p99_ms=result.p99_ms, storage_lag_p50_ms=result.storage_lag_p50_ms,
            storage_lag_p99_ms=result.storage_lag_p99_ms, storage_caught_up_seconds=result.storage_caught_up_seconds,
            throughput=result.frames_per_second, throughput_unit="frames/s", compared="latency_p99_ms",
            baseline_name="Kafka EndToEndLatency", baseline_figure=self.baselines.kafka_latency_p99_ms,
            note=_cpu_note(result)))
        return result

    def figures(self) -> SuiteFigures:
        """What the targets are set on, of the scenarios run so far."""
        return SuiteFigures(
            self.latency_by_rate, kafka_latency_p50_ms=self.baselines.kafka_latency_p50_ms or None,
            kafka_latency_p99_ms=self.baselines.kafka_latency_p99_ms or None,
            processor_updates_per_second=self.processor_updates_per_second,
            pipe_updates_per_second=self.baselines.pipe_updates_per_second or None,
            gateway_us_per_message=self.gateway_us_per_message,
            centrifugo_us_per_message=self.centrifugo_us_per_message)

    def latency_points(self) -> list[LatencyPoint]:
        return [LatencyPoint(rate, result.p50_ms, result.p95_ms, result.p99_ms)
                for rate, result in self.latency_by_rate.items()]

    # The gateway restarted under 5,000 analysts

    async def storm(self) -> None:
        args = argparse.Namespace(reconnect_clients=self.options.storm_clients,
                                  client_processes=self.options.client_processes, frames=400_000, updates=200,
                                  missed=5)
        result = await reconnect_storm(StackGateway(self.stack), args, self.bootstrap)
        # Each analyst waits for every update of its 20 games: the burst before and the missed ones.
        frames = result.tally.frames
        updates = frames // result.clients
        self.results.append(ScenarioResult(
            scenario=f"reconnect storm, {result.clients:,} analysts", sent=updates,
            delivered=updates - min(updates, result.tally.gaps), duplicates=result.tally.duplicates,
            throughput=result.total_seconds, throughput_unit="s to all resumed",
            note=f"counts are per analyst (each of {result.clients:,} must get every update of its 20 games, "
                 f"{result.missed_per_analyst} of them published while the gateway was down); stopped in "
                 f"{result.stop_seconds:.1f} s, ready {result.down_to_ready_seconds:.1f} s later, all resumed "
                 f"{result.ready_to_resumed_seconds:.1f} s after that"))

    # Ingest, last

    async def ingest_throughput(self) -> None:
        for server in self.stack.servers:
            if server.name in DOWNSTREAM_OF_INGEST:
                server.process.stop()
        key = LocalProviderKeys(self.stack.config.state_dir).key_for(SIMULATED_PROVIDER)
        url = self.stack.config.ingest_url
        await asyncio.to_thread(wrk_load, url, key, INGEST_WARMUP_SECONDS, INGEST_CONNECTIONS, INGEST_BATCH)
        before = sum((await end_offsets(self.bootstrap, ODDS_RAW)).values())
        measured: Measurement = await asyncio.to_thread(wrk_load, url, key, self.options.ingest_seconds,
                                                        INGEST_CONNECTIONS, INGEST_BATCH)
        logged = sum((await end_offsets(self.bootstrap, ODDS_RAW)).values()) - before
        sent = measured.updates + measured.errors * INGEST_BATCH
        print(f"  {measured.rate:,.0f} updates/s accepted (p50 {measured.p50_ms} ms, p99 {measured.p99_ms} ms); "
              f"{logged:,} records reached odds.raw for {measured.updates:,} accepted", flush=True)
        # wrk counts only requests it saw answered: those in flight when it stopped may add records
        # beyond the accepted count, never fewer.
        self.results.append(ScenarioResult(
            scenario="ingest POST /v1/odds", sent=sent, accepted=measured.updates,
            stored=min(logged, measured.updates), throughput=measured.rate,
            latency_p50_ms=measured.p50_ms, latency_p99_ms=measured.p99_ms,
            baseline_name="Kafka ProducerPerformance", baseline_figure=self.baselines.kafka_records_per_second,
            note=f"stored counts updates on odds.raw (offsets: {logged:,}), not in DynamoDB: the services after "
                 "ingest were stopped"))


def _failures(results: list[ScenarioResult]) -> list[str]:
    return [f"{result.scenario}: lost {result.lost}, duplicates {result.duplicates}"
            for result in results if result.lost or result.duplicates]


async def run_suite(stack: Stack, options: SuiteOptions) -> dict:
    suite = Suite(stack, options)
    started = time.monotonic()
    targets: list[TargetRow] = []
    try:
        await suite.run()
    finally:
        options.out.mkdir(parents=True, exist_ok=True)
        if suite.results:
            print_summary_table(suite.results)
            targets = evaluate_targets(suite.figures())
            print_targets_table(targets, options.analysts, options.games_per_analyst)
            write_json(options.out / "results.json", suite.results,
                       {**machine(), "baselines": suite.baselines.__dict__,
                        "minutes": round((time.monotonic() - started) / 60, 1)}, targets)
        if suite.latency_by_rate:
            plot_latency_against_load(options.out / "latency.png", suite.latency_points())
        print(f"\nResults: {options.out / 'results.json'}, plot: {options.out / 'latency.png'}; "
              f"{(time.monotonic() - started) / 60:.1f} minutes", flush=True)
    failures = _failures(suite.results)
    if failures:
        raise BenchFailure("updates lost or duplicated: " + "; ".join(failures))
    return {"scenarios": [result.to_json() for result in suite.results], "targets": [row.to_json() for row in targets]}


def _cpu_note(result: LatencyResult) -> str | None:
    """How busy the machine was while the latency was measured, and the platform's own share of it."""
    if result.cpu is None:
        return None
    platform = platform_cpu_ms_per_update(result)
    return (f"{result.cpu.busy_cores:.2f} of {result.cpu.cores} cores busy, "
            f"{result.cpu.ms_per_update(result.measured_updates):.2f} ms CPU per update"
            + ("" if platform is None else f" ({platform:.2f} ms of it the platform's services)"))
