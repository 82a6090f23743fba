"""``sportsfeed-bench suite|ingest|writer|persistence|processor|gateway|latency``: start a private local stack, measure, print the table, stop it."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import sys
import tempfile
from dataclasses import replace
from pathlib import Path

import aioboto3
import boto3
from sportsfeed_common.aws import dynamodb_client_kwargs
from sportsfeed_common.settings import CommonSettings, load_settings
from sportsfeed_common.table import create_table
from sportsfeed_devstack.applications import SIMULATED_PROVIDER, LocalProviderKeys
from sportsfeed_devstack.config import StackConfig, StackError, free_port
from sportsfeed_devstack.stack import Stack

from .gateway import FRAME_MODE_CHOICES, bench_gateway
from .ingest import Measurement, ingest_load, raw_librdkafka_producer, raw_producer
from .latency import hop_lines, measure_latency, storage_summary
from .persistence import BenchFailure, bench_persistence
from .processor import bench_processor
from .report import machine, median, print_table
from .storage import batch_writer, odds_items, raw_batch_write_loop
from .suite import SuiteOptions, run_suite
from .workload import Workload
from .wrk import ensure_wrk, wrk_available, wrk_load

INGEST_TARGET_UPDATES_PER_SECOND = 20_000


# The servers each benchmark needs; nothing else runs beside them.
STACK_SERVERS = {
    "ingest": frozenset({"kafka", "dynamodb", "redis", "ingest"}),
    "writer": frozenset({"dynamodb"}),
    "persistence": frozenset({"kafka", "dynamodb", "persistence"}),
    "processor": frozenset({"kafka", "dynamodb", "stream-processor"}),
    "gateway": frozenset({"kafka", "dynamodb", "redis", "push-gateway"}),
    "latency": frozenset({"kafka", "dynamodb", "redis", "ingest", "persistence", "stream-processor",
                          "push-gateway"}),
}
STACK_SERVERS["suite"] = STACK_SERVERS["latency"]
# DynamoDB Local in memory (three times its on-disk write rate) where storage must keep up with the
# whole platform's load beside the push; the storage benchmarks keep the on-disk default their
# figures were made with.
IN_MEMORY_TABLES = frozenset({"latency", "suite"})


def private_stack(state_dir: Path, servers: frozenset[str], dynamodb_in_memory: bool = False) -> Stack:
    """Servers of the platform on free ports, with the rate limit out of the way."""
    config = replace(
        StackConfig.from_env(),
        state_dir=state_dir,
        kafka_port=free_port(), kafka_controller_port=free_port(), dynamodb_port=free_port(),
        redis_port=free_port(), ingest_port=free_port(), persistence_port=free_port(), processor_port=free_port(),
        gateway_port=free_port(),
        ingest_rate_limits="*=10000000/second",
        ingest_workers=os.cpu_count() or 1,
        dynamodb_in_memory=dynamodb_in_memory,
    )
    return Stack(config, only=servers)


async def _load(config: StackConfig, key: str, seconds: float, args: argparse.Namespace) -> Measurement:
    if wrk_available():
        return await asyncio.to_thread(wrk_load, config.ingest_url, key, seconds, args.connections, args.batch)
    return await ingest_load(config.ingest_url, key, seconds, args.connections, args.batch)


async def bench_ingest(stack: Stack, args: argparse.Namespace) -> dict:
    config = stack.config
    key = LocalProviderKeys(config.state_dir).key_for(SIMULATED_PROVIDER)
    generator = "wrk" if wrk_available() else "a Python (aiohttp) client"
    print(f"\nIngest load: {generator}, {args.connections} keep-alive connections, batches of {args.batch}, "
          f"{config.ingest_workers} ingest worker(s). Warm-up {args.warmup:g} s...", flush=True)
    await _load(config, key, args.warmup, args)
    rounds: dict[str, list[Measurement]] = {"aiokafka": [], "librdkafka": [], "ingest": []}
    for number in range(1, args.rounds + 1):
        rounds["aiokafka"].append(await raw_producer(
            config.kafka_bootstrap, Workload(f"aio{number}").records(args.records, SIMULATED_PROVIDER)))
        rounds["librdkafka"].append(await asyncio.to_thread(
            raw_librdkafka_producer, config.kafka_bootstrap,
            Workload(f"rdk{number}").records(args.records, SIMULATED_PROVIDER)))
        rounds["ingest"].append(await _load(config, key, args.duration, args))
        print(f"  round {number}/{args.rounds}: raw aiokafka {rounds['aiokafka'][-1].rate:,.0f}/s, "
              f"raw librdkafka {rounds['librdkafka'][-1].rate:,.0f}/s, ingest {rounds['ingest'][-1].rate:,.0f}/s",
              flush=True)
    aiokafka, librdkafka, measured = (median(rounds[name]) for name in ("aiokafka", "librdkafka", "ingest"))
    print_table(f"Ingest throughput, median of {args.rounds} interleaved rounds (same broker, same run)",
                measured, [aiokafka, librdkafka])
    verdict = "met" if measured.rate >= INGEST_TARGET_UPDATES_PER_SECOND else "NOT met"
    print(f"  target {INGEST_TARGET_UPDATES_PER_SECOND:,} updates/s: {verdict}")
    return {
        "machine": machine(),
        "load_generator": generator,
        "ingest_workers": config.ingest_workers,
        "rounds": {name: [row.to_json() for row in rows] for name, rows in rounds.items()},
        "median": {"raw_aiokafka": aiokafka.to_json(), "raw_librdkafka": librdkafka.to_json(),
                   "ingest": measured.to_json()},
        "ratio_to_raw_aiokafka": round(measured.rate / aiokafka.rate, 3),
        "ratio_to_raw_librdkafka": round(measured.rate / librdkafka.rate, 3),
        "target_updates_per_second": INGEST_TARGET_UPDATES_PER_SECOND,
        "target_met": verdict == "met",
    }


async def bench_writer(stack: Stack, args: argparse.Namespace) -> dict:
    config = stack.config
    settings = load_settings(CommonSettings, config.service_environment())
    create_table(boto3.client("dynamodb", **dynamodb_client_kwargs(settings)), settings.dynamodb_table)
    rounds: dict[str, list[Measurement]] = {"raw": [], "writer": []}
    async with aioboto3.Session().client("dynamodb", **dynamodb_client_kwargs(settings)) as client:
        print(f"\nWarm-up: {args.items:,} items...", flush=True)
        await raw_batch_write_loop(client, settings.dynamodb_table, odds_items(args.items))
        for number in range(1, args.rounds + 1):
            rounds["raw"].append(await raw_batch_write_loop(client, settings.dynamodb_table, odds_items(args.items)))
            rounds["writer"].append(await batch_writer(client, settings.dynamodb_table, odds_items(args.items)))
            print(f"  round {number}/{args.rounds}: raw {rounds['raw'][-1].rate:,.0f} items/s, "
                  f"writer {rounds['writer'][-1].rate:,.0f} items/s", flush=True)
    raw, writer = median(rounds["raw"]), median(rounds["writer"])
    print_table(f"Storage throughput, median of {args.rounds} interleaved rounds (same DynamoDB Local)", writer, [raw])
    return {
        "rounds": {name: [row.to_json() for row in rows] for name, rows in rounds.items()},
        "median": {"raw": raw.to_json(), "writer": writer.to_json()},
        "ratio": round(writer.rate / raw.rate, 3),
    }


async def bench_latency(stack: Stack, args: argparse.Namespace) -> dict:
    print(f"\nEnd-to-end latency: {args.analysts} analysts watching {args.games_per_analyst} games each, "
          f"{args.rate:,.0f} updates/s offered for {args.seconds:g} s", flush=True)
    result = await measure_latency(stack, args.rate, args.seconds, args.analysts, args.games_per_analyst,
                                   args.warmup, args.client_processes)
    print(f"\n  sent {result.sent:,}, accepted {result.accepted:,}, stored {result.stored:,}, "
          f"delivered {result.delivered_frames:,} of {result.expected_frames:,} frames; "
          f"lost {result.lost}, duplicates {result.duplicates}")
    print(f"  latency ms: p50 {result.p50_ms:.0f}, p95 {result.p95_ms:.0f}, p99 {result.p99_ms:.0f}, "
          f"max {result.max_ms:.0f}" + (f"; {result.late_sends} sends behind schedule" if result.late_sends else ""))
    print(f"  {storage_summary(result)}")
    for line in hop_lines(result):
        print(f"    {line}")
    if result.lost or result.duplicates:
        raise BenchFailure(f"{result.lost} updates lost, {result.duplicates} duplicates")
    return {"machine": machine(), "latency": result.to_json()}


async def bench_suite(stack: Stack, args: argparse.Namespace) -> dict:
    return await run_suite(stack, SuiteOptions.from_args(args))


BENCHES = {"suite": bench_suite, "ingest": bench_ingest, "writer": bench_writer, "persistence": bench_persistence,
           "processor": bench_processor, "gateway": bench_gateway, "latency": bench_latency}


def add_round_options(command: argparse.ArgumentParser) -> None:
    """Options of the benchmarks that send N updates through a service per round."""
    command.add_argument("--records", type=int, default=10_000, help="updates per round (default 10,000)")
    command.add_argument("--rounds", type=int, default=3, help="interleaved rounds; medians are reported (default 3)")
    command.add_argument("--warmup", type=int, default=1_000, help="updates of the warm-up round (default 1,000)")
    command.add_argument("--json", type=Path, help="also write the results here")


def _interrupted(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def _counts(text: str) -> list[int]:
    """Whole numbers of at least 1, comma-separated: analysts, updates/s."""
    try:
        counts = [int(part) for part in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected whole numbers separated by commas, got {text!r}") from None
    if not counts or min(counts) < 1:
        raise argparse.ArgumentTypeError("every number must be at least 1")
    return counts


def argument_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="sportsfeed-bench", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    suite = commands.add_parser(
        "suite", help="the whole platform: baselines, each stage, latency at the target loads, slow consumers, a "
                      "reconnect storm and ingest; one table, the targets met or missed, results.json and "
                      "latency.png (about 5 minutes)")
    suite.add_argument("--out", type=Path, default=Path("bench-results"),
                       help="folder for results.json and latency.png (default ./bench-results)")
    suite.add_argument("--rates", type=_counts, default=list(SuiteOptions.rates),
                       help="updates/s offered, one latency scenario each, comma-separated; the targets are set "
                            "at 20, 500 and 1,000 (default 20,500,1000)")
    suite.add_argument("--analysts", type=int, default=500,
                       help="analysts in the latency scenarios, 5 games each (default 500, as the targets)")
    suite.add_argument("--seconds", type=float, default=20, help="measured seconds per latency scenario (default 20)")
    suite.add_argument("--warmup", type=float, default=5, help="warm-up seconds per latency scenario (default 5)")
    suite.add_argument("--storm-clients", type=int, default=5_000,
                       help="analysts in the reconnect storm (default 5,000)")
    suite.add_argument("--client-processes", type=int, default=2, help="worker processes of the analysts")
    ingest = commands.add_parser("ingest", help="ingest updates/s next to a raw producer")
    ingest.add_argument("--duration", type=float, default=10, help="seconds of measured load per round (default 10)")
    ingest.add_argument("--rounds", type=int, default=3, help="interleaved rounds; medians are reported (default 3)")
    ingest.add_argument("--warmup", type=float, default=10, help="seconds of load before measuring (default 10)")
    ingest.add_argument("--connections", type=int, default=64, help="concurrent keep-alive connections")
    ingest.add_argument("--batch", type=int, default=10, help="updates per request (default 10)")
    ingest.add_argument("--records", type=int, default=100_000, help="records per round for each raw producer")
    ingest.add_argument("--json", type=Path, help="also write the results here")
    writer = commands.add_parser("writer", help="the persistence batch writer next to a raw BatchWriteItem loop")
    writer.add_argument("--items", type=int, default=10_000, help="items per round (default 10,000)")
    writer.add_argument("--rounds", type=int, default=3, help="interleaved rounds; medians are reported (default 3)")
    writer.add_argument("--json", type=Path, help="also write the results here")
    add_round_options(commands.add_parser(
        "persistence", help="the persistence worker end to end, odds.live -> DynamoDB (done when its offsets are "
                            "committed), next to a raw BatchWriteItem loop"))
    add_round_options(commands.add_parser(
        "processor", help="the stream processor, odds.raw -> odds.live, next to a raw aiokafka pipe"))
    gateway = commands.add_parser(
        "gateway", help="push gateway server CPU per delivered message, frames delivered/s, memory per connection "
                        "and a reconnect storm, next to a bare aiohttp fan-out and Centrifugo v6")
    gateway.add_argument("--clients", type=_counts, default=[1_000, 10_000],
                         help="analysts per delivery measurement, comma-separated (default 1000,10000)")
    gateway.add_argument("--frames", type=int, default=400_000,
                         help="frames per burst in all: updates per burst are this over the analysts (default 400,000)")
    gateway.add_argument("--updates", type=int, default=200,
                         help="at most this many updates per burst, over 20 games; under QUEUE_SOFT_LIMIT (default 200)")
    gateway.add_argument("--frame-mode", choices=FRAME_MODE_CHOICES, default="both",
                         help="the analysts' frames= on the gateway: one frame per WebSocket message, the outbox "
                              "batched into one message, or both, one delivery scenario each (default both; the "
                              "baseline always runs once, one frame per message)")
    gateway.add_argument("--centrifugo", action=argparse.BooleanOptionalAction, default=True,
                         help="measure Centrifugo v6 beside the gateway, as shipped (default on; built by "
                              "tools/bench/install-centrifugo, which ./sportsfeed bench runs)")
    gateway.add_argument("--rounds", type=int, default=3, help="bursts per measurement; medians are reported")
    gateway.add_argument("--reconnect-clients", type=int, default=5_000,
                         help="analysts in the reconnect storm (default 5,000)")
    gateway.add_argument("--missed", type=int, default=5,
                         help="updates per game published while the gateway is down (default 5)")
    gateway.add_argument("--client-processes", type=int, default=2,
                         help="worker processes the analysts are spread over (default 2)")
    gateway.add_argument("--json", type=Path, help="also write the results here")
    latency = commands.add_parser(
        "latency", help="end-to-end latency through the whole platform at a steady rate, every update counted")
    latency.add_argument("--rate", type=float, default=1_000, help="updates per second offered (default 1,000)")
    latency.add_argument("--seconds", type=float, default=30, help="measured seconds (default 30)")
    latency.add_argument("--warmup", type=float, default=10, help="seconds at the rate before measuring")
    latency.add_argument("--analysts", type=int, default=500, help="analysts connected (default 500)")
    latency.add_argument("--games-per-analyst", type=int, default=5, help="games each watches (of 200)")
    latency.add_argument("--client-processes", type=int, default=2, help="worker processes of the analysts")
    latency.add_argument("--json", type=Path, help="also write the results here")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = argument_parser().parse_args(argv)
    # SIGTERM (a CI timeout, kill) unwinds like Ctrl-C, so the private stack is stopped, not left behind.
    signal.signal(signal.SIGTERM, _interrupted)
    if args.command in ("ingest", "suite"):
        ensure_wrk()
    with tempfile.TemporaryDirectory(prefix="sportsfeed-bench-") as state:
        stack = private_stack(Path(state), STACK_SERVERS[args.command], args.command in IN_MEMORY_TABLES)
        try:
            print("Starting a private stack...", flush=True)
            stack.start()
            results = asyncio.run(BENCHES[args.command](stack, args))
        except (StackError, BenchFailure) as error:
            print(f"sportsfeed-bench: {error}", file=sys.stderr)
            return 1
        finally:
            stack.stop()
    if getattr(args, "json", None):
        args.json.write_text(json.dumps(results, indent=2))
        print(f"\nResults written to {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
