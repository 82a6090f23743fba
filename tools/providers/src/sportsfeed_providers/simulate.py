"""A simulated odds provider: live games whose prices random-walk, posted to ingest at a steady rate.

It loads its games with ``PUT /v1/games``, then posts ``POST /v1/odds``
batches on an absolute schedule. A batch that meets 429, 503 or a broken
connection is resent unchanged until it is accepted, so an ingest outage
delays updates but loses none. Every few seconds it prints what it has sent.

The parts that need no network (catalogue, walk, batches, schedule, progress
arithmetic) are plain functions and classes, tested on their own.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import random
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sportsfeed_common.settings import Secret
from sportsfeed_common.times import epoch_millis, from_epoch_millis, iso_millis, to_millisecond

from .catalogue import SimGame, build_catalogue, game_payload
from .cli import (
    add_api_key_option,
    add_env_option,
    add_url_option,
    api_key_from,
    non_negative_float,
    positive_float,
    positive_int,
    run_tool,
)
from .client import (
    ApiError,
    IngestClient,
    Reply,
    RetryNotice,
    Unauthorized,
    Unprocessable,
    report_retry,
)
from .odds import MARKETS, MarketSpec, MarketWalk, Price
from .pacing import PacingSchedule, Stopped, Timekeeper, stop_aware_sleep, utc_now

MAX_BATCH_SIZE = 500
PROGRESS_EVERY_SECONDS = 5.0

WallClock = Callable[[], datetime]


def update_payload(game_id: str, spec: MarketSpec, price: Price, ts: datetime) -> dict[str, Any]:
    """One ``POST /v1/odds`` item; optional fields are left out rather than sent as null."""
    item: dict[str, Any] = {
        "gameId": game_id,
        "market": spec.market,
        "ts": iso_millis(ts),
        "homeOdds": price.home_odds,
        "awayOdds": price.away_odds,
        "oddsFormat": spec.odds_format,
        "status": "open",
    }
    if price.draw_odds is not None:
        item["drawOdds"] = price.draw_odds
    if price.home is not None and price.away is not None:
        item["home"] = price.home
        item["away"] = price.away
    return item


class OddsFeed:
    """Every (game, market) walk of a run, and the timestamps that keep update ids unique.

    Ingest derives an update's id from provider, game, market and the
    millisecond ``ts``; two updates of one market within a millisecond would
    collide, so each market's ``ts`` is forced to move forward by at least 1 ms.
    """

    def __init__(self, games: Sequence[SimGame], rng: random.Random, wall_clock: WallClock = utc_now) -> None:
        self._rng = rng
        self._wall_clock = wall_clock
        self._walks = [(game, MarketWalk(spec, rng)) for game in games for spec in MARKETS[game.sport]]
        self._last_ms: dict[tuple[str, str], int] = {}

    def next_update(self) -> dict[str, Any]:
        game, walk = self._rng.choice(self._walks)
        price = walk.step(self._rng)
        ts = self._next_ts(game.game_id, walk.spec.market)
        return update_payload(game.game_id, walk.spec, price, ts)

    def next_batch(self, size: int) -> list[dict[str, Any]]:
        return [self.next_update() for _ in range(size)]

    def _next_ts(self, game_id: str, market: str) -> datetime:
        key = (game_id, market)
        now_ms = epoch_millis(to_millisecond(self._wall_clock()))
        ms = max(now_ms, self._last_ms.get(key, now_ms - 1) + 1)
        self._last_ms[key] = ms
        return from_epoch_millis(ms)


@dataclass
class Totals:
    """Counts of updates: sent at least once, accepted, refused with a 4xx, and abandoned at stop."""

    sent: int = 0
    accepted: int = 0
    refused: int = 0
    retries: int = 0
    unsent: int = 0

    def summary(self) -> str:
        return (
            f"sent={self.sent} accepted={self.accepted} refused={self.refused} "
            f"retries={self.retries} unsent={self.unsent}"
        )


class ProgressMeter:
    """The periodic progress line; the rate is over the time since the previous line."""

    def __init__(self, start: float) -> None:
        self._last_time = start
        self._last_sent = 0

    def line(self, totals: Totals, now: float) -> str:
        elapsed = now - self._last_time
        rate = (totals.sent - self._last_sent) / elapsed if elapsed > 0 else 0.0
        self._last_time, self._last_sent = now, totals.sent
        return (
            f"sent={totals.sent} accepted={totals.accepted} refused={totals.refused} "
            f"retries={totals.retries} rate={rate:.1f}/s"
        )


def accepted_count(reply: Reply, sent: int) -> int:
    body = reply.body
    if isinstance(body, dict) and isinstance(body.get("accepted"), int):
        return body["accepted"]
    return sent


class Simulator:
    """Posts the feed's batches on schedule until the timekeeper says stop."""

    def __init__(
        self,
        client: IngestClient,
        feed: OddsFeed,
        timekeeper: Timekeeper,
        *,
        rate: float,
        batch_size: int,
        totals: Totals,
    ) -> None:
        self._client = client
        self._feed = feed
        self._time = timekeeper
        self._rate = rate
        self._batch_size = batch_size
        self.totals = totals

    async def run(self) -> None:
        """Returns when stopped.

        Raises :class:`Unauthorized` or :class:`Unprocessable`: no resend can fix those.
        """
        schedule = PacingSchedule.for_rate(self._time.now(), self._rate, self._batch_size)
        try:
            while True:
                await self._time.sleep_until(schedule.next_due(self._time.now()))
                await self._send(self._feed.next_batch(self._batch_size))
        except Stopped:
            return

    async def report_progress(self, every: float) -> None:
        meter = ProgressMeter(self._time.now())
        next_at = self._time.now() + every
        with contextlib.suppress(Stopped):
            while True:
                await self._time.sleep_until(next_at)
                print(meter.line(self.totals, self._time.now()), flush=True)
                next_at += every

    async def _send(self, batch: list[dict[str, Any]]) -> None:
        self.totals.sent += len(batch)
        try:
            reply = await self._client.post_odds(batch)
        except Stopped:
            self.totals.unsent += len(batch)
            raise
        except (Unauthorized, Unprocessable):
            raise
        except ApiError as error:
            # Another 4xx (or an unexpected 5xx) would fail again if resent: count it and carry on.
            self.totals.refused += len(batch)
            print(f"batch refused: {error}", file=sys.stderr, flush=True)
            return
        self.totals.accepted += accepted_count(reply, len(batch))


@dataclass(frozen=True)
class Options:
    url: str
    api_key: Secret
    games: int
    rate: float
    duration: float
    batch_size: int
    seed: int | None


def batch_size(text: str) -> int:
    value = positive_int(text)
    if value > MAX_BATCH_SIZE:
        raise argparse.ArgumentTypeError(f"must be at most {MAX_BATCH_SIZE}, got {value}")
    return value


def parse_args(argv: Sequence[str] | None, environ: Mapping[str, str]) -> Options:
    parser = argparse.ArgumentParser(
        prog="sportsfeed-simulate",
        description="Simulated provider: live games with random-walk odds posted to ingest.",
    )
    add_url_option(parser, environ)
    add_api_key_option(parser, environ, required=True)
    add_env_option(parser, environ, "--games", "SIM_GAMES", type=positive_int, default=12,
                   help="number of games, sports taken round-robin")
    add_env_option(parser, environ, "--rate", "SIM_RATE", type=positive_float, default=20.0,
                   help="updates per second")
    add_env_option(parser, environ, "--duration", "SIM_DURATION", type=non_negative_float, default=0.0,
                   help="seconds to run, 0 = until Ctrl-C or SIGTERM")
    add_env_option(parser, environ, "--batch-size", "SIM_BATCH_SIZE", type=batch_size, default=10,
                   help=f"updates per request, at most {MAX_BATCH_SIZE}")
    add_env_option(parser, environ, "--seed", "SIM_SEED", type=int, default=None,
                   help="random seed for a reproducible run")
    args = parser.parse_args(argv)
    api_key = api_key_from(parser, args, required=True)
    assert api_key is not None
    return Options(
        url=args.url, api_key=api_key, games=args.games, rate=args.rate,
        duration=args.duration, batch_size=args.batch_size, seed=args.seed,
    )


async def simulate(
    options: Options,
    timekeeper: Timekeeper,
    *,
    wall_clock: WallClock = utc_now,
    jitter: random.Random | None = None,
    progress_every: float | None = PROGRESS_EVERY_SECONDS,
) -> int:
    """Load the games, then post odds until stopped; the exit code.

    Retry jitter has its own generator so that retries never change the
    seeded sequence of prices.
    """
    rng = random.Random(options.seed)
    games = build_catalogue(options.games, rng)
    totals = Totals()

    def on_retry(notice: RetryNotice) -> None:
        totals.retries += 1
        report_retry(notice)

    async with IngestClient(
        options.url, options.api_key, sleep=timekeeper.sleep, rng=jitter, on_retry=on_retry
    ) as client:
        try:
            reply = await client.put_games([game_payload(game, wall_clock()) for game in games])
            print(f"games loaded: {accepted_count(reply, len(games))} of {len(games)}", flush=True)
            simulator = Simulator(
                client, OddsFeed(games, rng, wall_clock), timekeeper,
                rate=options.rate, batch_size=options.batch_size, totals=totals,
            )
            await _run_with_progress(simulator, progress_every)
        except ApiError as error:
            print(f"error: {error}", file=sys.stderr)
            print(f"totals: {totals.summary()}")
            return 1
        except Stopped:
            print("stopped before the games were loaded", file=sys.stderr)
            return 1
    print(f"totals: {totals.summary()}")
    return 0


async def _run_with_progress(simulator: Simulator, progress_every: float | None) -> None:
    if progress_every is None:
        await simulator.run()
        return
    reporter = asyncio.create_task(simulator.report_progress(progress_every))
    try:
        await simulator.run()
    finally:
        reporter.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await reporter


def main(argv: Sequence[str] | None = None) -> int:
    options = parse_args(argv, os.environ)
    print(
        f"simulating {options.games} games at {options.rate:g} updates/s in batches of "
        f"{options.batch_size} against {options.url}",
        flush=True,
    )

    async def work(stop: asyncio.Event) -> int:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + options.duration if options.duration else None
        return await simulate(options, Timekeeper(loop.time, stop_aware_sleep(stop), deadline))

    return run_tool(work)


if __name__ == "__main__":
    sys.exit(main())
