"""Per-minute series kept exact: candles per game and market, feed counts per provider.

Each sequenced update is folded in exactly once (sequencing refuses a replay a
second seq), into state that lives in changelog-backed tables; DynamoDB gets
whole items written from that state, so rewriting one never double-counts.

Feed counts are kept per input partition: a provider's games spread over all
partitions, and only the worker owning a partition sees its updates. Each
partition's partial count is its own item (``count-<minute>#<partition>``);
the read API adds them up.
"""

from __future__ import annotations

from datetime import datetime

from sportsfeed_common.events import OddsUpdate
from sportsfeed_common.series import Candle, Ohlc, minute_of


def _fold_side(ohlc: Ohlc | None, price: float | None) -> Ohlc | None:
    if price is None:
        return ohlc
    if ohlc is None:
        return Ohlc(open=price, high=price, low=price, close=price)
    return Ohlc(open=ohlc.open, high=max(ohlc.high, price), low=min(ohlc.low, price), close=price)


def fold_candle(candle: Candle | None, update: OddsUpdate) -> Candle:
    """``candle`` (of the update's game, market and minute) with ``update`` folded in, in arrival order."""
    if candle is None:
        home = _fold_side(None, update.home_odds)
        away = _fold_side(None, update.away_odds)
        assert home is not None and away is not None
        return Candle(game_id=update.game_id, market=update.market, minute=minute_of(update.ts),
                      home=home, away=away, draw=_fold_side(None, update.draw_odds), count=1)
    home = _fold_side(candle.home, update.home_odds)
    away = _fold_side(candle.away, update.away_odds)
    assert home is not None and away is not None
    return Candle(game_id=candle.game_id, market=candle.market, minute=candle.minute, home=home, away=away,
                  draw=_fold_side(candle.draw, update.draw_odds), count=candle.count + 1)


def candle_key(partition: int, update: OddsUpdate) -> str:
    """Table key of the update's candle. It leads with the input partition, so the state of one
    partition can be found (and expired) without knowing which games live there."""
    return f"{partition}|{update.game_id}|{update.market}|{int(minute_of(update.ts).timestamp())}"


def count_key(partition: int, provider: str, ts: datetime) -> str:
    return f"{partition}|{provider}|{int(minute_of(ts).timestamp())}"


def key_partition(key: str) -> int:
    return int(key.split("|", 1)[0])


def key_minute(key: str) -> int:
    """The minute a candle or count key is for, in epoch seconds."""
    return int(key.rsplit("|", 1)[1])
