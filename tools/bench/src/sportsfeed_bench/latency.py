"""End-to-end latency under a steady load, through the whole platform, with every update accounted for.

Twenty providers, each owning 10 of 200 games, post a batch of one update per game at a steady
total rate to ingest (``POST /v1/odds``), each in order, a request at a time; each update goes ingest -> Kafka -> persistence -> DynamoDB -> the stream
processor -> the push gateway -> the analysts' WebSockets. Each analyst watches a few games, as
an analyst on a trading desk does; together they watch every game. An analyst times each odds
frame from ingest's ``ingestedAt`` stamp to its arrival (one machine, one clock).

Accounting, per run: updates sent, accepted (202), stored (counted in DynamoDB), and delivered
(every analyst has every seq of the games it watches). Lost is accepted minus stored, plus any
accepted update an analyst never got; it must be 0. A warm-up phase at the same rate comes first
and is not timed.
"""

from __future__ import annotations

import asyncio
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
from sportsfeed_devstack.applications import SIMULATED_PROVIDER, LocalProviderKeys
from sportsfeed_devstack.stack import Stack

from .analysts import SLOW_END_TO_END, AnalystProcesses, Stalled
from .cpu_usage import CpuAccount, CpuUsage
from .persistence import BenchFailure
from .service_metrics import persistence_summary, scrape
from .workload import GAMES, Workload

LANES = 20  # providers, each owning GAMES / LANES games: batches of 10 updates
SLOW_PACE_FACTOR = 3.0  # a slow consumer spends this many arrival intervals on each frame


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
    hops_p50_p99_ms: dict[str, tuple[float, float]]  # each hop, ingested->stored ... pushed->received
    slow_analysts: int = 0
    slow_p99_ms: float | None = None  # the slow consumers' own end-to-end p99 (not in the figures above)
    conflated: int = 0  # updates merged into a later frame of the same game by a slow consumer's queue
    frames_per_second: float = 0.0  # frames delivered over the measured phase, every analyst together
    cpu: CpuUsage | None = None  # what each process spent over the measured phase

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
    crowd = AnalystProcesses(client_processes, f"{analysts} analysts at {rate:,.0f} updates/s")
    try:
        await crowd.connect_watching(config.gateway_url, watching, prefix=workload.run, read_delays=read_delays)
        print(f"  {analysts} analysts connected, {per_analyst} games each"
              + (f", {slow} of them slow (reading at a third of the pace)" if slow else "")
              + f"; warm-up {warmup_seconds:g} s at {rate:,.0f} updates/s...", flush=True)
        warmup = await provider.run(rate, warmup_seconds)
        await _delivered(crowd, warmup)
        await crowd.take_latency()  # the warm-up's latencies are not counted
        print(f"  measuring {seconds:g} s at {rate:,.0f} updates/s...", flush=True)
        frames_before = (await crowd.tally()).frames
        persistence_before, started = await scrape(config.persistence_url), time.monotonic()
        cpu = cpu_account(stack, crowd)
        cpu.start()
        measured = await provider.run(rate, seconds)
        cpu_usage = cpu.usage()
        frames_during = (await crowd.tally()).frames - frames_before
        await _delivered(crowd, warmup, measured)
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
        conflated=tally.conflated, frames_per_second=frames_during / seconds, cpu=cpu_usage)


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
