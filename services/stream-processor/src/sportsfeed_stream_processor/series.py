"""Per-minute series kept exact: candles per game, market and provider, feed counts per provider.

Each sequenced update is folded in exactly once, into its game's state (the
same record as its seq, see sequencing.GameState); DynamoDB gets whole items
built from that state, so writing one again never double-counts.

Only recent minutes are kept: an update whose minute is more than the horizon
behind the wall clock still goes live but changes no series (its items may
already be final), and minutes leave the state a while after that.

Feed counts are stored per input partition: a provider's games spread over
every partition and only the worker owning a partition sees them. A
partition's share of a provider's minute is the sum over the partition's
games; the read API adds the shares up.
"""

from __future__ import annotations

from datetime import datetime

from sportsfeed_common.events import OddsUpdate
from sportsfeed_common.series import Candle, Ohlc
from sportsfeed_common.times import from_epoch_seconds, minute_of

from .sequencing import GameState

# Minutes leave the state this long after they leave the horizon, so that every game of a
# partition still holds a minute for as long as that minute's share may be written.
EVICTION_MARGIN_SECONDS = 300


def _fold_side(ohlc: Ohlc | None, price: float | None) -> Ohlc | None:
    if price is None:
        return ohlc
    if ohlc is None:
        return Ohlc(open=price, high=price, low=price, close=price)
    return Ohlc(open=ohlc.open, high=max(ohlc.high, price), low=min(ohlc.low, price), close=price)


def fold_candle(candle: Candle | None, update: OddsUpdate) -> Candle:
    """``candle`` (of the update's game, market, provider and minute) with ``update`` folded in, in arrival order."""
    if candle is None:
        home = _fold_side(None, update.home_odds)
        away = _fold_side(None, update.away_odds)
        assert home is not None and away is not None
        return Candle(game_id=update.game_id, market=update.market, provider=update.provider,
                      minute=minute_of(update.ts),
                      home=home, away=away, draw=_fold_side(None, update.draw_odds), count=1)
    home = _fold_side(candle.home, update.home_odds)
    away = _fold_side(candle.away, update.away_odds)
    assert home is not None and away is not None
    return Candle(game_id=candle.game_id, market=candle.market, provider=candle.provider, minute=candle.minute,
                  home=home, away=away,
                  draw=_fold_side(candle.draw, update.draw_odds), count=candle.count + 1)


def minute_seconds(moment: datetime) -> int:
    return int(minute_of(moment).timestamp())


def oldest_open_minute(now_ms: int, horizon_minutes: int) -> int:
    """The oldest minute (epoch seconds) still folded into and written."""
    return (now_ms // 60_000 - horizon_minutes) * 60


def fold_series(state: GameState, update: OddsUpdate, now_ms: int, horizon_minutes: int) -> tuple[str, str] | None:
    """Fold ``update`` into its candle and its provider's count in ``state``; evict old minutes.

    Returns the candle key and the count key it changed, or None if its minute is beyond the horizon.
    """
    oldest = oldest_open_minute(now_ms, horizon_minutes)
    _evict(state, oldest - EVICTION_MARGIN_SECONDS)
    minute = minute_seconds(update.ts)
    if minute < oldest:
        return None
    candle_key = f"{update.market}|{update.provider}|{minute}"
    state.candles[candle_key] = fold_candle(state.candles.get(candle_key), update)
    count_key = f"{update.provider}|{minute}"
    state.counts[count_key] = state.counts.get(count_key, 0) + 1
    return candle_key, count_key


def key_minute(key: str) -> int:
    return int(key.rsplit("|", 1)[1])


def _evict(state: GameState, before: int) -> None:
    for series in (state.candles, state.counts):
        for key in [key for key in series if key_minute(key) < before]:
            del series[key]


def minute_datetime(minute: int) -> datetime:
    return from_epoch_seconds(minute)
