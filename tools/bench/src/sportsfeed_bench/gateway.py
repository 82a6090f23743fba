"""Push gateway: messages delivered per second to 1,000 and 10,000 analysts on one gateway process,
memory per connection, and a 5,000-analyst reconnect storm after a restart; each next to the
fan-out baseline (``fanout_baseline``: a bare aiohttp broadcaster) and Centrifugo v6 (the server
users would pick instead, as shipped), measured in the same run (``push_servers``).

A delivery round produces a burst of LiveUpdates to ``odds.live``, as the stream processor
does, over fresh games, and is timed from the first send until the last analyst has every one
of them; it is checked too: every analyst got every seq of every game, once. The burst stays
below the gateway's soft queue limit, so what is measured is fan-out, not conflation.

The primary figure is the server's CPU per delivered message: the server process's CPU seconds
over a round divided by the odds frames delivered in it, in microseconds (median of the rounds).
With ``--frame-mode both`` the gateway's delivery runs twice, its analysts asking for one frame per
WebSocket message (``frames=one``) and then for the outbox's frames batched into one message
(``frames=batch``); the baseline only sends one frame per message, so it runs once, and Centrifugo
runs as shipped (up to 16 queued messages per WebSocket frame).

The reconnect storm: 5,000 analysts subscribed to the round's games are told GOING_AWAY by a
gateway shutting down; more updates are published while it is down; it restarts (warming its
window from Kafka) and every analyst reconnects with jittered retries and resumes with
``since``. Timed from the shutdown until the last analyst has every missed update, with no gap,
no duplicate and no fresh snapshot in place of a replay.
"""

from __future__ import annotations

import argparse
import asyncio
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import aiohttp
from sportsfeed_common.events import ImpliedProbabilities, LiveUpdate, Trace, encode
from sportsfeed_common.times import now_millis
from sportsfeed_devstack.stack import Stack
from sportsfeed_devstack.waiting import WaitTimeout, wait_until_async

from .analysts import FRAMES_BATCH, FRAMES_ONE, PROTOCOL_SPORTSFEED, AnalystProcesses, Stalled, Tally
from .ingest import Measurement
from .kafka_io import produce
from .persistence import BenchFailure
from .push_servers import READY_SECONDS, Centrifugo, FanoutBaseline, StackGateway, Target
from .report import machine, median
from .service_metrics import scrape

GAMES_PER_ROUND = 20
FRAME_MODE_CHOICES = (FRAMES_ONE, FRAMES_BATCH, "both")
CENTRIFUGO_FRAMES = "shipped"  # Centrifugo's own framing: up to 16 queued messages per WebSocket frame


def frame_modes(choice: str) -> list[str]:
    """The gateway's delivery scenarios for ``--frame-mode``: "both" is one, then batch."""
    return [FRAMES_ONE, FRAMES_BATCH] if choice == "both" else [choice]


def cpu_us_per_message(cpu_seconds: float, messages: int) -> float:
    """A round's server CPU per delivered message, in microseconds."""
    if messages <= 0:
        raise ValueError("no message delivered: CPU per message is undefined")
    return cpu_seconds / messages * 1e6


def median_cpu_us_per_message(cpu_seconds: list[float], messages: list[int]) -> float:
    """The median over rounds of each round's CPU per message (us); with an even count, the upper
    middle, as the other medians of this bench (``report.median``)."""
    per_round = sorted(cpu_us_per_message(seconds, count)
                       for seconds, count in zip(cpu_seconds, messages, strict=True))
    return per_round[len(per_round) // 2]


@dataclass
class Burst:
    """One round's LiveUpdates: ``per_game`` seqs on each of ``GAMES_PER_ROUND`` fresh games."""

    games: list[str]
    first_seq: int
    last_seq: int

    @classmethod
    def fresh(cls, updates: int) -> Burst:
        run = uuid.uuid4().hex[:8]
        per_game = max(1, updates // GAMES_PER_ROUND)
        return cls([f"game-gwbench-{run}-{n}" for n in range(GAMES_PER_ROUND)], 1, per_game)

    def next(self, per_game: int) -> Burst:
        return Burst(self.games, self.last_seq + 1, self.last_seq + per_game)

    def __len__(self) -> int:
        return len(self.games) * (self.last_seq - self.first_seq + 1)

    def target(self) -> dict[str, int]:
        return {game: self.last_seq for game in self.games}

    def records(self, target: Target) -> list[tuple[bytes, bytes]]:
        """``(key, value)`` records for ``target`` to deliver: each update as it publishes them."""
        stamp = now_millis()
        start = datetime.now(UTC) - timedelta(minutes=1)
        return [(game.encode(), target.record_value(encode(LiveUpdate(
            provider="bench", game_id=game, market="spread", ts=start + timedelta(milliseconds=seq),
            home=-3.5, away=3.5, home_odds=-110 - seq % 40, away_odds=100 + seq % 40, seq=seq, date=stamp // 1000,
            implied=ImpliedProbabilities(home=0.52, away=0.5),
            trace=Trace(ingested_at=stamp, processed_at=stamp)))))
            for seq in range(self.first_seq, self.last_seq + 1) for game in self.games]


@dataclass(frozen=True)
class DeliveryResult:
    target: str
    clients: int
    updates_per_burst: int
    connect_seconds: float
    bytes_per_connection: float
    rounds: list[Measurement]
    cpu_share: list[float]  # the server's CPU seconds per second of each round: 1.0 is one core busy
    tally: Tally
    cpu_seconds: list[float]  # the server process's CPU seconds over each round
    frames: str = FRAMES_ONE  # the analysts' frames=: one frame per WebSocket message, or batched

    @property
    def label(self) -> str:
        return label(self.target, self.frames)

    def median_cpu_share(self) -> float:
        return sorted(self.cpu_share)[len(self.cpu_share) // 2]

    def cpu_us_per_message(self) -> list[float]:
        """Each round's server CPU per delivered odds frame, microseconds."""
        return [cpu_us_per_message(seconds, row.updates) for seconds, row in zip(self.cpu_seconds, self.rounds,
                                                                                 strict=True)]

    def median_cpu_us_per_message(self) -> float:
        return median_cpu_us_per_message(self.cpu_seconds, [row.updates for row in self.rounds])

    def to_json(self) -> dict:
        return {"target": self.target, "frames": self.frames, "label": self.label, "clients": self.clients,
                "updates_per_burst": self.updates_per_burst,
                "connect_seconds": round(self.connect_seconds, 2),
                "bytes_per_connection": round(self.bytes_per_connection),
                "rounds": [row.to_json() for row in self.rounds], "median": median(self.rounds).to_json(),
                "cpu_share": [round(share, 2) for share in self.cpu_share],
                "cpu_seconds": [round(seconds, 3) for seconds in self.cpu_seconds],
                "cpu_us_per_message": [round(us, 3) for us in self.cpu_us_per_message()],
                "median_cpu_us_per_message": round(self.median_cpu_us_per_message(), 3),
                "tally": {field: getattr(self.tally, field) for field in Tally.__struct_fields__}}


def label(target: str, frames: str) -> str:
    return f"{target} (as shipped)" if frames == CENTRIFUGO_FRAMES else f"{target} (frames={frames})"


def _check(tally: Tally, what: str) -> None:
    faults = {name: getattr(tally, name) for name in ("gaps", "duplicates", "conflated", "not_recovered")}
    if any(faults.values()):
        raise BenchFailure(f"{what}: " + ", ".join(f"{name} {value:,}" for name, value in faults.items()))


async def _connections_settled(target: Target, count: int) -> None:
    """Wait until the gateway's own gauge counts every socket (the baseline has none: it is immediate)."""
    if not isinstance(target, StackGateway):
        return

    async def counted() -> bool:
        return (await scrape(target.url)).get("sportsfeed_gateway_connections") >= count

    try:
        await wait_until_async(counted, timeout=30, interval=0.1, what=f"the gateway to count {count:,} connections")
    except WaitTimeout:
        raise BenchFailure(f"the gateway did not count {count:,} connections within 30 s") from None


async def deliveries(target: Target, clients: int, args: argparse.Namespace, bootstrap: str,
                     frames: str = FRAMES_ONE) -> DeliveryResult:
    """Connect ``clients`` analysts to ``target`` (every update, no subscription), then time bursts.
    ``frames``: the analysts' ``frames=`` ("batch" only for the gateway: the baseline sends one per message;
    Centrifugo frames as it was shipped to)."""
    sportsfeed = target.protocol == PROTOCOL_SPORTSFEED
    frames = frames if sportsfeed else CENTRIFUGO_FRAMES
    name = label(target.name, frames)
    analysts = AnalystProcesses(args.client_processes, f"{name}, {clients:,} analysts")
    try:
        before = target.rss_bytes()
        connect_seconds = await analysts.connect(target.url, clients, None, f"bench-{uuid.uuid4().hex[:6]}",
                                                 frames=frames if sportsfeed else FRAMES_ONE,
                                                 protocol=target.protocol)
        await _connections_settled(target, clients)
        per_connection = (target.rss_bytes() - before) / clients
        print(f"  {name}: {clients:,} analysts connected in {connect_seconds:.1f} s, "
              f"{per_connection / 1024:.1f} KiB per connection", flush=True)
        await _burst(analysts, target, bootstrap, Burst.fresh(GAMES_PER_ROUND))  # warm-up: one update per game
        updates = burst_size(clients, args)
        rounds, cpu_share, cpu_seconds = [], [], []
        for number in range(1, args.rounds + 1):
            burst = Burst.fresh(updates)
            cpu_before = target.cpu_seconds()
            seconds = await _burst(analysts, target, bootstrap, burst)
            cpu_seconds.append(target.cpu_seconds() - cpu_before)
            cpu_share.append(cpu_seconds[-1] / seconds)
            rounds.append(Measurement(f"{name}, {clients:,} analysts", len(burst) * clients, seconds))
            print(f"  {name}, {clients:,} analysts, round {number}/{args.rounds}: "
                  f"{len(burst) * clients:,} frames in {seconds:.2f} s = {rounds[-1].rate:,.0f}/s, "
                  f"server CPU {cpu_share[-1]:.0%}, "
                  f"{cpu_us_per_message(cpu_seconds[-1], len(burst) * clients):.2f} us CPU per message", flush=True)
        tally = await analysts.tally()
        _check(tally, f"{name} with {clients:,} analysts")
        return DeliveryResult(target.name, clients, updates, connect_seconds, per_connection, rounds, cpu_share,
                              tally, cpu_seconds, frames)
    except Stalled as stalled:
        raise BenchFailure(str(stalled)) from None
    finally:
        await analysts.close()
        analysts.terminate()


def burst_size(clients: int, args: argparse.Namespace) -> int:
    """Updates per burst: about ``--frames`` frames in all, at most ``--updates`` (under the soft queue
    limit) and at least one per game. A round must not last long: analysts that share the machine's
    cores with the gateway fall behind, and one that leaves the gateway's heartbeat ping unanswered
    for 15 s is rightly closed."""
    return max(GAMES_PER_ROUND, min(args.updates, args.frames // clients))


async def _burst(analysts: AnalystProcesses, target: Target, bootstrap: str, burst: Burst) -> float:
    started = time.time()
    waiting = asyncio.create_task(analysts.expect(burst.target(), 1, "have the burst",
                                                  frames=len(burst) * analysts.count))
    await produce(bootstrap, target.topic, burst.records(target), target.headers)
    return await waiting - started


@dataclass(frozen=True)
class StormResult:
    target: str
    clients: int
    missed_per_analyst: int  # updates published while it was down, each replayed to every analyst
    stop_seconds: float  # SIGTERM until the process exited (every socket told GOING_AWAY)
    down_to_ready_seconds: float  # exited until /readyz answered again (the gateway warms from Kafka)
    ready_to_resumed_seconds: float  # ready until the last analyst was back and had every missed update
    total_seconds: float  # SIGTERM until the last analyst had every missed update
    tally: Tally

    def to_json(self) -> dict:
        return {"target": self.target, "clients": self.clients, "missed_per_analyst": self.missed_per_analyst,
                "stop_seconds": round(self.stop_seconds, 2),
                "down_to_ready_seconds": round(self.down_to_ready_seconds, 2),
                "ready_to_resumed_seconds": round(self.ready_to_resumed_seconds, 2),
                "total_seconds": round(self.total_seconds, 2),
                "tally": {field: getattr(self.tally, field) for field in Tally.__struct_fields__}}


async def reconnect_storm(target: Target, args: argparse.Namespace, bootstrap: str) -> StormResult:
    clients = args.reconnect_clients
    analysts = AnalystProcesses(args.client_processes, f"{target.name} restart, {clients:,} analysts")
    try:
        burst = Burst.fresh(burst_size(clients, args))
        await analysts.connect(target.url, clients, burst.games, f"storm-{uuid.uuid4().hex[:6]}")
        await _burst(analysts, target, bootstrap, burst)
        missed = burst.next(args.missed) if target.replays else None
        print(f"  {target.name}: {clients:,} analysts subscribed and up to date; restarting it"
              + (f", {len(missed):,} updates published while it is down" if missed else "") + "...", flush=True)
        began = time.time()
        await asyncio.to_thread(target.stop)
        stopped_at = time.time()
        if missed is not None:
            await produce(bootstrap, target.topic, missed.records(target), target.headers)
        resumed = asyncio.create_task(analysts.expect((missed or burst).target(), 2, "back and up to date"))
        ready = asyncio.create_task(_ready_at(target.url))
        await asyncio.to_thread(target.start)
        ready_at = await ready
        done_at = await resumed
        tally = await analysts.tally()
        _check(tally, f"the {target.name}'s reconnect storm")
        result = StormResult(target.name, clients, len(missed) if missed else 0, stopped_at - began,
                             ready_at - stopped_at, done_at - ready_at, done_at - began, tally)
        print(f"  {target.name}: stopped in {result.stop_seconds:.1f} s, ready {result.down_to_ready_seconds:.1f} s "
              f"later; every analyst back and up to date {result.ready_to_resumed_seconds:.2f} s after that "
              f"({result.total_seconds:.1f} s in all)", flush=True)
        return result
    except Stalled as stalled:
        raise BenchFailure(str(stalled)) from None
    finally:
        await analysts.close()
        analysts.terminate()


async def _ready_at(url: str) -> float:
    """When ``url``'s /readyz first answers 200 (epoch seconds), polled finely."""
    async with aiohttp.ClientSession() as session:
        async def ready() -> bool:
            try:
                async with session.get(f"{url}/readyz") as response:
                    return response.status == 200
            except aiohttp.ClientError:
                return False

        await wait_until_async(ready, timeout=READY_SECONDS, interval=0.02, what=f"{url} to be ready")
    return time.time()


async def bench_gateway(stack: Stack, args: argparse.Namespace) -> dict:
    bootstrap = stack.config.kafka_bootstrap
    gateway, baseline = StackGateway(stack), FanoutBaseline(bootstrap)
    centrifugo = Centrifugo(bootstrap) if args.centrifugo else None
    started: list[Target] = []
    try:
        for server in (baseline, centrifugo):
            if server is not None:
                await server.prepare()
                server.start()
                started.append(server)
        delivered: list[DeliveryResult] = []
        for clients in args.clients:
            print(f"\n{clients:,} analysts, each getting every update; bursts of {burst_size(clients, args)} updates:",
                  flush=True)
            delivered.append(await deliveries(baseline, clients, args, bootstrap))  # one frame per message only
            for frames in frame_modes(args.frame_mode):
                delivered.append(await deliveries(gateway, clients, args, bootstrap, frames))
            if centrifugo is not None:
                delivered.append(await deliveries(centrifugo, clients, args, bootstrap))
        print(f"\nReconnect storm: {args.reconnect_clients:,} analysts, the server restarted under them:", flush=True)
        storms = [await reconnect_storm(target, args, bootstrap) for target in (baseline, gateway)]
    finally:
        for server in started:
            server.stop()
    print_delivery_table(delivered, args)
    print_storm_table(storms)
    return {
        "machine": machine(),
        "client_processes": args.client_processes,
        "frame_mode": args.frame_mode,
        "centrifugo": bool(args.centrifugo),
        "deliveries": [result.to_json() for result in delivered],
        "reconnect_storm": [storm.to_json() for storm in storms],
    }


def print_delivery_table(results: list[DeliveryResult], args: argparse.Namespace) -> None:
    print(f"\nFrames delivered per second, median of {args.rounds} rounds (same broker, same analysts' processes)")
    print(f"  {'':<24}{'analysts':>10}{'frames':>12}{'seconds':>9}{'per second':>12}{'CPU':>6}{'us/msg':>9}"
          f"{'KiB/conn':>10}")
    for result in results:
        row = median(result.rounds)
        print(f"  {result.label:<24}{result.clients:>10,}{row.updates:>12,}{row.seconds:>9.2f}{row.rate:>12,.0f}"
              f"{result.median_cpu_share():>6.0%}{result.median_cpu_us_per_message():>9.2f}"
              f"{result.bytes_per_connection / 1024:>10.1f}")
    for clients in args.clients:
        here = [r for r in results if r.clients == clients]
        for other in ("baseline", "centrifugo"):
            against = next((r for r in here if r.target == other), None)
            if against is None:
                continue
            for gateway in (r for r in here if r.target == "gateway"):
                print(f"  {gateway.label} / {against.label} with {clients:,} analysts: rate "
                      f"{median(gateway.rounds).rate / median(against.rounds).rate:.2f}, CPU per message "
                      f"{_ratio_text(gateway.median_cpu_us_per_message(), against.median_cpu_us_per_message())}")
    print("  us/msg (the primary figure): the server process's CPU seconds over a round / the odds frames "
          "delivered in it, in microseconds, median of the rounds")
    print("  CPU: the server process's CPU seconds per second of the round (100% is one core busy); the "
          "analysts run on the same machine")
    print(f"  seq gaps or duplicates: {sum(r.tally.gaps + r.tally.duplicates for r in results)}")


def _ratio_text(measured: float, baseline: float) -> str:
    """``measured / baseline`` to two decimals; "-" when the baseline read 0 (a round shorter than the
    process clock's tick shows no CPU at all)."""
    return f"{measured / baseline:.2f}" if baseline > 0 else "-"


def print_storm_table(storms: list[StormResult]) -> None:
    print(f"\nReconnect storm, {storms[0].clients:,} analysts: seconds")
    print(f"  {'':<12}{'stop':>8}{'to ready':>10}{'to resumed':>12}{'total':>8}{'missed each':>13}")
    for storm in storms:
        print(f"  {storm.target:<12}{storm.stop_seconds:>8.2f}{storm.down_to_ready_seconds:>10.2f}"
              f"{storm.ready_to_resumed_seconds:>12.2f}{storm.total_seconds:>8.2f}{storm.missed_per_analyst:>13,}")
    gateway, baseline = (next(s for s in storms if s.target == name) for name in ("gateway", "baseline"))
    print(f"  ratio gateway / baseline, ready to every analyst resumed: "
          f"{gateway.ready_to_resumed_seconds / max(baseline.ready_to_resumed_seconds, 1e-3):.2f} "
          "(the baseline only reconnects; it has nothing to replay)")
