"""Per-minute time series: price candles per game, market and provider, feed counts per provider.

The stream processor computes them and writes whole items (never an atomic
ADD, which double-counts on every retry); the read API serves them. These
structs are that contract, camelCase on the wire like the events.
"""

from __future__ import annotations

from .events import Event, UtcTime
from .ids import GameId, Market, ProviderId


class Ohlc(Event, kw_only=True):
    """Open, high, low and close of one side's price within a minute."""

    open: float
    high: float
    low: float
    close: float


class Candle(Event, kw_only=True, omit_defaults=True):
    """One provider's prices of one market of a game within a minute: never merged across providers,
    whose prices differ by their margins and would make a candle's high and low a mix of both."""

    game_id: GameId
    market: Market
    provider: ProviderId
    minute: UtcTime
    home: Ohlc
    away: Ohlc
    draw: Ohlc | None = None
    count: int  # updates folded into this candle


class FeedCount(Event, kw_only=True):
    provider: ProviderId
    minute: UtcTime
    count: int  # updates the provider sent in this minute, each update id counted once
