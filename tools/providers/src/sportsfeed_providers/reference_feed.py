"""The reference system's feed generator: spread odds for its two sample games, sent to ``PUT /feeds``.

It sends what the reference's script sent, field for field, so the legacy
endpoint can be exercised as the reference's users did. ``date`` is whole
epoch seconds, as in the reference: two sends within one second carry the
same ``date`` and therefore the same update ids, which ingest treats as one
update sent twice.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sportsfeed_common.settings import Secret

from .cli import (
    add_api_key_option,
    api_key_from,
    positive_float,
    positive_int,
    run_tool,
)
from .client import SHORT_RETRIES, ApiError, GaveUp, IngestClient, report_retry
from .pacing import PacingSchedule, Stopped, Timekeeper, stop_aware_sleep, utc_now

REFERENCE_GAME_IDS = (
    "game-2957FB14-2939-4A7C-BC54-331D65EE7D58",
    "game-CC39FC2A-8CD7-44F7-91EA-585D441BDDAF",
)
SUMMARY = "Portland Trail Blazers @ Charlotte Hornets"
GAME_DATE = "2019-03-03 13:00:00.000"
DEFAULT_INTERVAL_SECONDS = 2.0


def reference_record(game_id: str, rng: random.Random, now: datetime) -> dict[str, Any]:
    return {
        "summary": SUMMARY,
        "gameId": game_id,
        "gameDate": GAME_DATE,
        "type": "spread",
        "isOpen": True,
        "away": rng.randint(-4, 0),
        "home": rng.randint(1, 5),
        "awayOdds": -110,
        "homeOdds": -110,
        "date": int(now.timestamp()),
    }


def reference_odds(rng: random.Random, now: datetime) -> list[dict[str, Any]]:
    """The ``odds`` list of one ``PUT /feeds`` body: one record per reference game."""
    return [reference_record(game_id, rng, now) for game_id in REFERENCE_GAME_IDS]


@dataclass(frozen=True)
class Options:
    url: str
    api_key: Secret | None
    iterations: int | None  # None: until stopped
    interval: float


def parse_args(argv: Sequence[str] | None, environ: Mapping[str, str]) -> Options:
    parser = argparse.ArgumentParser(
        prog="sportsfeed-reference-feed",
        description="Send the reference system's sample spread odds to PUT <URL>/feeds.",
    )
    parser.add_argument("url", metavar="URL", help="ingest base URL, e.g. http://127.0.0.1:8081")
    add_api_key_option(parser, environ, required=False)
    parser.add_argument("--loop", action="store_true",
                        help="keep sending every --interval seconds until Ctrl-C (or --count times)")
    parser.add_argument("--interval", type=positive_float, default=DEFAULT_INTERVAL_SECONDS,
                        help="seconds between sends (default %(default)s)")
    parser.add_argument("--count", type=positive_int, default=None,
                        help="number of sends (default 1, or unlimited with --loop)")
    args = parser.parse_args(argv)
    iterations = args.count if args.count is not None else (None if args.loop else 1)
    return Options(
        url=args.url,
        api_key=api_key_from(parser, args, required=False),
        iterations=iterations,
        interval=args.interval,
    )


async def send_feeds(
    options: Options,
    timekeeper: Timekeeper,
    *,
    rng: random.Random | None = None,
    wall_clock: Callable[[], datetime] = utc_now,
) -> int:
    """Send ``options.iterations`` times on an absolute schedule; 1 if any send was not 2xx."""
    rng = rng or random.Random()
    schedule = PacingSchedule(timekeeper.now(), options.interval)
    failures = 0
    sent = 0

    async with IngestClient(
        options.url, options.api_key, policy=SHORT_RETRIES, sleep=timekeeper.sleep, on_retry=report_retry
    ) as client:
        try:
            while options.iterations is None or sent < options.iterations:
                await timekeeper.sleep_until(schedule.next_due(timekeeper.now()))
                sent += 1
                if not await _send_once(client, reference_odds(rng, wall_clock())):
                    failures += 1
        except Stopped:
            pass
    return 1 if failures else 0


async def _send_once(client: IngestClient, odds: list[dict[str, Any]]) -> bool:
    try:
        reply = await client.put_feeds(odds)
    except ApiError as error:
        print(f"{error.status} {error.text}", flush=True)
        return False
    except GaveUp as error:
        print(f"failed: {error}", flush=True)
        return False
    print(f"{reply.status} {reply.text}", flush=True)
    return True


def main(argv: Sequence[str] | None = None) -> int:
    options = parse_args(argv, os.environ)

    async def work(stop: asyncio.Event) -> int:
        loop = asyncio.get_running_loop()
        return await send_feeds(options, Timekeeper(loop.time, stop_aware_sleep(stop)))

    return run_tool(work)


if __name__ == "__main__":
    sys.exit(main())
