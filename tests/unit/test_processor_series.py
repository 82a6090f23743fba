"""Candles folded from sequenced updates, and the table keys of candles and counts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sportsfeed_common.events import OddsUpdate
from sportsfeed_common.series import Ohlc
from sportsfeed_stream_processor.series import (
    candle_key,
    count_key,
    fold_candle,
    key_minute,
    key_partition,
)

T0 = datetime(2026, 11, 23, 12, 5, tzinfo=UTC)


def update(seconds: float, home: float, away: float, draw: float | None = None) -> OddsUpdate:
    return OddsUpdate(provider="acme", game_id="game-1", market="1x2" if draw else "moneyline",
                      ts=T0 + timedelta(seconds=seconds), home_odds=home, away_odds=away, draw_odds=draw,
                      odds_format="decimal")


def test_a_candle_is_open_high_low_close_per_side_in_arrival_order_with_a_count() -> None:
    candle = None
    for seconds, home, away in [(1, 2.0, 3.0), (20, 2.4, 2.8), (30, 1.8, 3.1), (59.999, 2.1, 2.9)]:
        candle = fold_candle(candle, update(seconds, home, away))
    assert candle is not None
    assert (candle.game_id, candle.market, candle.minute, candle.count) == ("game-1", "moneyline", T0, 4)
    assert candle.home == Ohlc(open=2.0, high=2.4, low=1.8, close=2.1)
    assert candle.away == Ohlc(open=3.0, high=3.1, low=2.8, close=2.9)
    assert candle.draw is None


def test_a_three_way_candle_has_a_draw_side() -> None:
    candle = fold_candle(fold_candle(None, update(0, 2.0, 3.0, draw=3.3)), update(1, 2.0, 3.0, draw=3.5))
    assert candle.draw == Ohlc(open=3.3, high=3.5, low=3.3, close=3.5)


def test_keys_carry_partition_and_minute() -> None:
    key = candle_key(7, update(42, 2.0, 3.0))
    assert key == f"7|game-1|moneyline|{int(T0.timestamp())}"
    assert (key_partition(key), key_minute(key)) == (7, int(T0.timestamp()))
    assert count_key(3, "acme", T0 + timedelta(seconds=59)) == f"3|acme|{int(T0.timestamp())}"
