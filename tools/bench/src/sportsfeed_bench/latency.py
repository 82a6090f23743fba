"""End-to-end latency under a steady load, through the whole platform, with every update accounted for.

Twenty providers, each owning 10 of 200 games, post a batch of one update per game at a steady
total rate to ingest (``POST /v1/odds``), each in order, a request at a time; each update goes
ingest -> ``odds.raw`` -> the stream processor -> ``odds.live`` -> the push gateway -> the analysts'
WebSockets, and from ``odds.live``, beside the push, persistence -> DynamoDB. Each analyst watches a
few games, as an analyst on a trading desk does; together they watch every game. An analyst times
each odds frame from ingest's ``ingestedAt`` stamp to its arrival (one machine, one clock).

Storage is not on the push's path, so it is reported beside it: how far it trailed (persistence's
own histogram of ingest to the DynamoDB write, over the measured phase), and how long after the
load stopped it had stored everything.

Accounting, per run: updates sent, accepted (202), stored (counted in DynamoDB once storage has
caught up), and delivered (every analyst has every seq of the games it watches). Lost is accepted
minus stored, plus any accepted update an analyst never got; it must be 0. A warm-up phase at the
same rate comes first and is not timed.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections import Counter
from dataclasses import dataclass

import aioboto3
import aiohttp
import psutil
from hdrh.histogram import HdrHistogram
from sportsfeed_common.aws import dynamodb_client_kwargs
from sportsfeed_common.settings import CommonSettings, load_settings
from sportsfeed_common.table import ODDS_PREFIX
from sportsfeed_common.topics import ODDS_LIVE
from sportsfeed_devstack.applications import SIMULATED_PROVIDER, LocalProviderKeys
from sportsfeed_devstack.stack import Stack

from .analysts import SLOW_END_TO_END, AnalystProcesses, Stalled
from .cpu_usage import CpuAccount, CpuUsage
from .kafka_io import CommittedOffsets, end_offsets
from .persistence import (
    DEADLINE_FACTOR,
    DEADLINE_MARGIN_SECONDS,
    BenchFailure,
    persistence_group,
    wait_until_stored,
    worker_log_tail,
)
from .service_metrics import Samples, bucket_quantile, persistence_summary, scrape
from .workload import GAMES, Workload

LANES = 20  # providers, each owning GAMES / LANES games: batches of 10 updates
SLOW_PACE_FACTOR = 3.0  # a slow consumer spends this many arrival intervals on each frame
# Persistence's histogram of how far storage trails: ingest's ingestedAt to the DynamoDB write.
STORAGE_LAG = "sportsfeed_persistence_ingested_to_stored_seconds"


@dataclass
class Feed:
    """What the providers sent in one phase, and what ingest accepted, per game."""

    sent: int = 0
    accepted: int = 0
    refused: int = 0
    accepted_per_game: Counter[str] | None = None
    late_sends: int = 0  # sends more than one interval behind their schedule: the generator could not keep up


@dataclass(frozen=True)
class LatencyResult:
    offered_per_second: float
    seconds: float
    analysts: int
    sent: int
    accepted: int
    stored: int
    delivered_frames: int
    expected_frames: int
    lost: int
    duplicates: int
    p50_ms: float
    p95_ms: float
    p99_ms: float
    max_ms: float
    late_sends: int
    hops_p50_p99_ms: dict[str, tuple[float, float]]  # each hop, ingested->processed ... pushed->received
    slow_analysts: int = 0
    slow_p99_ms: float | None = None  # the slow consumers' own end-to-end p99 (not in the figures above)
    conflated: int = 0  # updates merged into a later frame of the same game by a slow consumer's queue
    frames_per_second: float = 0.0  # frames delivered over the measured phase, every analyst together
    cpu: CpuUsage | None = None  # what each process spent over the measured phase
    # Ingest to stored in DynamoDB, beside the push, over the measured phase's updates: upper bounds of
    # persistence's histogram buckets (None: nothing stored; math.inf: beyond its last bucket).
    storage_lag_p50_ms: float | None = None
    storage_lag_p99_ms: float | None = None
    storage_caught_up_seconds: float | None = None  # after the load stopped, until every update was stored

    @property
    def delivered(self) -> int:
        """Accepted updates that reached every analyst watching their game; each missing frame counts
        as one update not delivered."""
        missing = missing_frames(self.expected_frames, self.delivered_frames, self.duplicates, self.conflated)
        return max(0, min(self.stored, self.accepted - missing))

    @property
    def measured_updates(self) -> int:
        """Updates offered over the measured phase (what the CPU figures are per)."""
        return round(self.offered_per_second * self.seconds)

    def to_json(self) -> dict:
        return {**self.__dict__, "delivered": self.delivered, "cpu": self.cpu and self.cpu.to_json()}


def missing_frames(expected: int, received: int, duplicates: int, conflated: int) -> int:
    """Frames the analysts should have had and did not. Copies make up for nothing; a conflated
    update was delivered, since the frame that stands for it carries its price or a later one."""
    return max(0, expected - (received - duplicates + conflated))


def storage_lag_ms(persistence: Samples, quantile: float) -> float | None:
    """A quantile of the storage lag, in ms, from persistence's histogram scraped before and after."""
    bound = bucket_quantile(persistence.buckets(STORAGE_LAG), quantile)
    return None if bound is None else bound * 1000


def _at_most(milliseconds: float | None) -> str:
    if milliseconds is None:
        return "-"
    return "beyond the last bucket" if math.isinf(milliseconds) else f"<= {milliseconds:,.0f} ms"


def storage_summary(result: LatencyResult) -> str:
    """How far storage trailed the push, and how long it took to catch up once the load stopped."""
    caught_up = ("" if result.storage_caught_up_seconds is None
                 else f"; storage caught up {result.storage_caught_up_seconds:.1f} s after the load stopped")
    return (f"storage lag, ingest to DynamoDB (bucket resolution): p50 {_at_most(result.storage_lag_p50_ms)}, "
            f"p99 {_at_most(result.storage_lag_p99_ms)}{caught_up}")


async def storage_caught_up(stack: Stack, group: str, phase_seconds: float) -> float:
    """The ``perf_counter`` time persistence had stored every record on ``odds.live`` up to now: once
    every accepted update was delivered, all of them are there. Its group commits only after writing,
    so this is when the last was stored, give or take faust's commit interval (2.8 s by default).
    Fails, with the worker's last log lines, past the deadline the persistence bench gives a round
    as long as the phase."""
    bootstrap = stack.config.kafka_bootstrap
    ends = await end_offsets(bootstrap, ODDS_LIVE)
    deadline = time.perf_counter() + DEADLINE_FACTOR * phase_seconds + DEADLINE_MARGIN_SECONDS
    try:
        async with CommittedOffsets(bootstrap, group, ODDS_LIVE) as committed:
            return await wait_until_stored(committed, ends, deadline)
    except BenchFailure as failure:
        raise BenchFailure(f"storage did not catch up with the push: {failure}\n{worker_log_tail(stack)}") from None


def hop_lines(result: LatencyResult) -> list[str]:
    """One line per hop, in pipeline order, then the CPU each process spent: where the time went."""
    hops = [f"{hop:<20} p50 {p50:,.0f} ms, p99 {p99:,.0f} ms" for hop, (p50, p99) in result.hops_p50_p99_ms.items()]
    return hops + (result.cpu.summary(result.measured_updates) if result.cpu else [])


def cpu_account(stack: Stack, crowd: AnalystProcesses) -> CpuAccount:
    """Each server of the stack, the analysts' processes, and this process (the providers) last."""
    groups: dict[str, list[psutil.Process]] = {}
    for server in stack.servers:
        running = server.process.running()
        if running is not None:
            groups[server.name] = [running]
    groups["analysts"] = [psutil.Process(pid) for pid in crowd.pids]
    groups["bench (providers)"] = [psutil.Process()]
    return CpuAccount(groups)


class PacedProvider:
    """Providers posting at a steady total rate. The 200 games are split over ``LANES`` providers;
    each posts one update for each of its games per step, in order, a request at a time (a later
    price never overtakes an earlier one of the same game, as with a real provider). Each request
    leaves at its scheduled moment, or at once when the previous one answered late."""

    def __init__(self, ingest_url: str, key: str, workload: Workload) -> None:
        self._url = f"{ingest_url}/v1/odds"
        self._headers = {"X-API-Key": key, "Content-Type": "application/json"}
        self._workload = workload
        self._steps = [0] * LANES  # each lane's next step: ts keeps rising across phases

    async def run(self, rate: float, seconds: float) -> Feed:
        feed = Feed(accepted_per_game=Counter())
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=LANES)) as session:
            await asyncio.gather(*(self._lane(session, lane, rate, seconds, feed) for lane in range(LANES)))
        return feed

    async def _lane(self, session: aiohttp.ClientSession, lane: int, rate: float, seconds: float,
                    feed: Feed) -> None:
        games = list(range(lane, GAMES, LANES))
        interval = len(games) * LANES / rate
        loop = asyncio.get_running_loop()
        start = loop.time() + lane * interval / LANES  # lanes spread over the interval, not in step
        for number in range(int(seconds / interval)):
            delay = start + number * interval - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)  # pacing the offered load, not waiting for a result
            elif -delay > interval:
                feed.late_sends += 1
            body = self._workload.step_body(games, self._steps[lane])
            self._steps[lane] += 1
            await self._post(session, body, [self._workload.game(n) for n in games], feed)

    async def _post(self, session: aiohttp.ClientSession, body: bytes, games: list[str], feed: Feed) -> None:
        feed.sent += len(games)
        async with session.post(self._url, data=body, headers=self._headers) as response:
            await response.read()
            if response.status == 202:
                feed.accepted += len(games)
                assert feed.accepted_per_game is not None
                feed.accepted_per_game.update(games)
            else:
                feed.refused += len(games)


def watched_games(workload: Workload, analysts: int, per_analyst: int) -> list[list[str]]:
    """Analyst n watches ``per_analyst`` consecutive games from game n: together they cover all."""
    return [[workload.game((n + k) % GAMES) for k in range(per_analyst)] for n in range(analysts)]


async def stored_count(stack: Stack, games: list[str]) -> int:
    """Odds items of ``games`` in the table (Query with Select=COUNT, every page)."""
    settings = load_settings(CommonSettings, stack.config.service_environment())
    total = 0
    async with aioboto3.Session().client("dynamodb", **dynamodb_client_kwargs(settings)) as client:
        paginator = client.get_paginator("query")
        for game in games:
            async for page in paginator.paginate(
                    TableName=settings.dynamodb_table, Select="COUNT",
                    KeyConditionExpression="PK = :game AND begins_with(SK, :odds)",
                    ExpressionAttributeValues={":game": {"S": game}, ":odds": {"S": ODDS_PREFIX}}):
                total += page["Count"]
    return total


def slow_read_delays(analysts: int, slow_share: float, rate: float, per_analyst: int) -> list[float]:
    """Every ``1 / slow_share``-th analyst reads at a third of the pace its games' updates arrive at;
    the others read at once."""
    if slow_share <= 0:
        return [0.0] * analysts
    every = max(1, round(1 / slow_share))
    arriving_per_second = rate * per_analyst / GAMES
    delay = SLOW_PACE_FACTOR / arriving_per_second
    return [delay if n % every == every - 1 else 0.0 for n in range(analysts)]


async def measure_latency(stack: Stack, rate: float, seconds: float, analysts: int, per_analyst: int,
                          warmup_seconds: float, client_processes: int, slow_share: float = 0.0) -> LatencyResult:
    config = stack.config
    workload = Workload(f"lat{int(time.time())}")
    provider = PacedProvider(config.ingest_url, LocalProviderKeys(config.state_dir).key_for(SIMULATED_PROVIDER),
                             workload)
    watching = watched_games(workload, analysts, per_analyst)
    read_delays = slow_read_delays(analysts, slow_share, rate, per_analyst)
    slow = sum(1 for delay in read_delays if delay)
    group = persistence_group(stack)
    crowd = AnalystProcesses(client_processes, f"{analysts} analysts at {rate:,.0f} updates/s")
    try:
        await crowd.connect_watching(config.gateway_url, watching, prefix=workload.run, read_delays=read_delays)
        print(f"  {analysts} analysts connected, {per_analyst} games each"
              + (f", {slow} of them slow (reading at a third of the pace)" if slow else "")
              + f"; warm-up {warmup_seconds:g} s at {rate:,.0f} updates/s...", flush=True)
        warmup = await provider.run(rate, warmup_seconds)
        await _delivered(crowd, warmup)
        # Storage trails the push: once it has the warm-up's updates too, the storage figures of the
        # measured phase count that phase's updates alone.
        await storage_caught_up(stack, group, warmup_seconds)
        await crowd.take_latency()  # the warm-up's latencies are not counted
        print(f"  measuring {seconds:g} s at {rate:,.0f} updates/s...", flush=True)
        frames_before = (await crowd.tally()).frames
        persistence_before, started = await scrape(config.persistence_url), time.monotonic()
        cpu = cpu_account(stack, crowd)
        cpu.start()
        measured = await provider.run(rate, seconds)
        load_stopped = time.perf_counter()
        cpu_usage = cpu.usage()
        frames_during = (await crowd.tally()).frames - frames_before
        await _delivered(crowd, warmup, measured)
        caught_up = await storage_caught_up(stack, group, seconds) - load_stopped
        # Scraped once storage has caught up, so the storage lag includes the updates stored last.
        persistence = await scrape(config.persistence_url) - persistence_before
        print("  " + persistence_summary(persistence, time.monotonic() - started), flush=True)
        histograms = await crowd.take_latency()
        latency = histograms.pop("end_to_end")
        slow_latency = histograms.pop(SLOW_END_TO_END, None)
        tally = await crowd.tally()
    except Stalled as stalled:
        tails = "\n".join(f"--- {server.name}:\n{server.process.log_tail()}" for server in stack.servers
                          if server.is_application)
        raise BenchFailure(f"updates stopped reaching the analysts: {stalled}\n{tails}") from None
    finally:
        await crowd.close()
        crowd.terminate()
    accepted = warmup.accepted + measured.accepted
    stored = await stored_count(stack, [workload.game(n) for n in range(GAMES)])
    expected_frames = sum(_accepted_for(watched, warmup, measured) for watched in watching)
    lost = max(0, accepted - stored) + missing_frames(expected_frames, tally.frames, tally.duplicates, tally.conflated)
    return LatencyResult(
        offered_per_second=rate, seconds=seconds, analysts=analysts, sent=warmup.sent + measured.sent,
        accepted=accepted, stored=stored, delivered_frames=tally.frames, expected_frames=expected_frames,
        lost=lost, duplicates=tally.duplicates, p50_ms=_at(latency, 50), p95_ms=_at(latency, 95),
        p99_ms=_at(latency, 99), max_ms=float(latency.get_max_value()),
        late_sends=warmup.late_sends + measured.late_sends,
        hops_p50_p99_ms={hop: (_at(histogram, 50), _at(histogram, 99)) for hop, histogram in histograms.items()},
        slow_analysts=slow, slow_p99_ms=None if slow_latency is None else _at(slow_latency, 99),
        conflated=tally.conflated, frames_per_second=frames_during / seconds, cpu=cpu_usage,
        storage_lag_p50_ms=storage_lag_ms(persistence, 0.5), storage_lag_p99_ms=storage_lag_ms(persistence, 0.99),
        storage_caught_up_seconds=caught_up)


def _accepted_for(games: list[str], *feeds: Feed) -> int:
    return sum((feed.accepted_per_game or Counter())[game] for feed in feeds for game in games)


async def _delivered(crowd: AnalystProcesses, *feeds: Feed) -> None:
    """Until every analyst has the last seq of every game it watches (seqs are 1..n per game)."""
    totals: Counter[str] = Counter()
    for feed in feeds:
        totals.update(feed.accepted_per_game or Counter())
    await crowd.expect(dict(totals), 1, "have every update")  # fails on a stall, not on slowness


def _at(histogram: HdrHistogram, percentile: float) -> float:
    return float(histogram.get_value_at_percentile(percentile)) if histogram.get_total_count() else float("nan")
