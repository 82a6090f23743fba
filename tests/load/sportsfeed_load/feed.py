"""What provider users send: distinct odds updates for the run's games, as either endpoint's body.

Every update must reach analysts, so none may be one the platform drops on purpose:
- ids are deterministic (provider, game, market, ts in ms), so a repeated ts is a retry
  and stored once;
- the stream processor sequences an update only if its ts is later than the last one of the
  same provider and market, so a late ts is stored but never pushed.
Hence each provider user owns one market, posts one request at a time (Kafka keeps the
order of one game), and takes its ts from a clock that strictly increases per game.
"""

from __future__ import annotations

import math
import secrets
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import msgspec

ODDS_PATH = "/v1/odds"
FEEDS_PATH = "/feeds"


def new_run_id() -> str:
    """Short and unique per run: fresh games, so their seqs start at 1 and runs never mix."""
    return time.strftime("%m%d%H%M%S", time.gmtime()) + secrets.token_hex(2)


def run_games(run_id: str, count: int) -> list[str]:
    return [f"game-load-{run_id}-{index:03d}" for index in range(count)]


def wall_clock_ms() -> int:
    return time.time_ns() // 1_000_000


class TsClock:
    """Millisecond timestamps close to the wall clock, strictly increasing per game.

    Over 1,000 updates per second for one game the ts runs ahead of the wall clock; ingest
    accepts up to MAX_FUTURE_SKEW_SECONDS (300 s) of that.
    """

    def __init__(self, now_ms: Callable[[], int] = wall_clock_ms) -> None:
        self._now_ms = now_ms
        self._last: dict[str, int] = {}

    def next_ts(self, game_id: str) -> int:
        ts = max(self._now_ms(), self._last.get(game_id, 0) + 1)
        self._last[game_id] = ts
        return ts


@dataclass(frozen=True)
class Quote:
    """One price to send."""

    game_id: str
    market: str
    ts_ms: int
    home_odds: int
    away_odds: int


class QuoteSource:
    """One provider user's prices: its own market, round-robin over the run's games."""

    def __init__(self, games: Sequence[str], market: str, clock: TsClock | None = None) -> None:
        self._games = games
        self._market = market
        self._clock = clock or TsClock()
        self._count = 0
        self._per_game: dict[str, int] = {}

    def take(self, count: int) -> list[Quote]:
        quotes = []
        for _ in range(count):
            game_id = self._games[self._count % len(self._games)]
            self._count += 1
            step = self._per_game[game_id] = self._per_game.get(game_id, -1) + 1
            # Prices move one point at a time (valid American odds, -110 to -119 against +100 to +109):
            # a change, but far below the processor's movement threshold, so no update is also an alert.
            wave = abs(step % 18 - 9)
            quotes.append(Quote(game_id, self._market, self._clock.next_ts(game_id),
                                home_odds=-(110 + wave), away_odds=100 + wave))
        return quotes


def _utc(ts_ms: int) -> datetime:
    return datetime.fromtimestamp(ts_ms // 1000, UTC).replace(microsecond=ts_ms % 1000 * 1000)


def rfc3339(ts_ms: int) -> str:
    return _utc(ts_ms).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def reference_date(ts_ms: int) -> str:
    """The reference's ``date`` as text: epoch seconds as a float could lose the millisecond."""
    return _utc(ts_ms).strftime("%Y-%m-%d %H:%M:%S.") + f"{ts_ms % 1000:03d}"


def odds_body(quotes: Sequence[Quote]) -> bytes:
    """A ``POST /v1/odds`` body."""
    return msgspec.json.encode({"updates": [
        {"gameId": quote.game_id, "market": quote.market, "ts": rfc3339(quote.ts_ms),
         "homeOdds": quote.home_odds, "awayOdds": quote.away_odds}
        for quote in quotes
    ]})


def feeds_body(quotes: Sequence[Quote]) -> bytes:
    """A ``PUT /feeds`` body in the reference's format; ``type`` carries the market."""
    return msgspec.json.encode({"odds": [
        {"gameId": quote.game_id, "type": quote.market, "date": reference_date(quote.ts_ms),
         "homeOdds": quote.home_odds, "awayOdds": quote.away_odds}
        for quote in quotes
    ]})


class EndpointMix:
    """Which endpoint each batch goes to: ``feeds_share`` of them to PUT /feeds, evenly interleaved."""

    def __init__(self, feeds_share: float) -> None:
        self._share = feeds_share
        self._batches = 0
        self._feeds = 0

    def next_is_feeds(self) -> bool:
        self._batches += 1
        # The small epsilon keeps 0.1 * 10 from landing just under 1.
        due = math.floor(self._batches * self._share + 1e-9)
        if due > self._feeds:
            self._feeds += 1
            return True
        return False
