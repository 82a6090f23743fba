"""Candles folded from sequenced updates; the series a game's state keeps, and for how long."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sportsfeed_common.events import OddsUpdate
from sportsfeed_common.series import Ohlc
from sportsfeed_stream_processor.sequencing import GameState
from sportsfeed_stream_processor.series import (
    EVICTION_MARGIN_SECONDS,
    fold_candle,
    fold_series,
)

T0 = datetime(2026, 11, 23, 12, 5, tzinfo=UTC)


def update(seconds: float, home: float, away: float, draw: float | None = None, provider: str = "acme") -> OddsUpdate:
    return OddsUpdate(provider=provider, game_id="game-1", market="1x2" if draw else "moneyline",
                      ts=T0 + timedelta(seconds=seconds), home_odds=home, away_odds=away, draw_odds=draw,
                      odds_format="decimal")


def test_a_candle_is_open_high_low_close_per_side_in_arrival_order_with_a_count() -> None:
    candle = None
    for seconds, home, away in [(1, 2.0, 3.0), (20, 2.4, 2.8), (30, 1.8, 3.1), (59.999, 2.1, 2.9)]:
        candle = fold_candle(candle, update(seconds, home, away))
    assert candle is not None
    assert (candle.game_id, candle.market, candle.provider, candle.minute, candle.count) == (
        "game-1", "moneyline", "acme", T0, 4)
    assert candle.home == Ohlc(open=2.0, high=2.4, low=1.8, close=2.1)
    assert candle.away == Ohlc(open=3.0, high=3.1, low=2.8, close=2.9)
    assert candle.draw is None


def test_a_three_way_candle_has_a_draw_side() -> None:
    candle = fold_candle(fold_candle(None, update(0, 2.0, 3.0, draw=3.3)), update(1, 2.0, 3.0, draw=3.5))
    assert candle.draw == Ohlc(open=3.3, high=3.5, low=3.3, close=3.5)


def test_fold_series_keys_by_market_provider_and_minute_and_refuses_minutes_beyond_the_horizon() -> None:
    state = GameState()
    now = int((T0 + timedelta(minutes=1)).timestamp() * 1000)
    minute = int(T0.timestamp())
    assert fold_series(state, update(42, 2.0, 3.0), now, horizon_minutes=10) == (
        f"moneyline|acme|{minute}", f"acme|{minute}")
    assert fold_series(state, update(50, 2.1, 3.0), now, horizon_minutes=10) is not None
    assert state.candles[f"moneyline|acme|{minute}"].count == 2 and state.counts[f"acme|{minute}"] == 2
    too_old = update(-11 * 60, 2.0, 3.0)  # eleven minutes before T0: beyond a ten-minute horizon
    assert fold_series(state, too_old, now, horizon_minutes=10) is None
    assert len(state.candles) == 1 and len(state.counts) == 1


def test_each_provider_has_a_candle_of_its_own() -> None:
    state = GameState()
    now = int((T0 + timedelta(minutes=1)).timestamp() * 1000)
    for seconds, home, provider in [(1, 2.0, "acme"), (2, 2.6, "beta"), (3, 2.2, "acme"), (4, 2.5, "beta")]:
        fold_series(state, update(seconds, home, 3.0, provider=provider), now, horizon_minutes=10)
    minute = int(T0.timestamp())
    acme, beta = state.candles[f"moneyline|acme|{minute}"], state.candles[f"moneyline|beta|{minute}"]
    # Merged, the minute would open at 2.0 and close at 2.5 with a high from one provider and a low from the other.
    assert (acme.provider, acme.home, acme.count) == ("acme", Ohlc(open=2.0, high=2.2, low=2.0, close=2.2), 2)
    assert (beta.provider, beta.home, beta.count) == ("beta", Ohlc(open=2.6, high=2.6, low=2.5, close=2.5), 2)


def test_minutes_leave_the_state_well_after_they_leave_the_horizon() -> None:
    state = GameState()
    fold_series(state, update(0, 2.0, 3.0), int(T0.timestamp() * 1000), horizon_minutes=10)
    later = T0 + timedelta(minutes=10, seconds=EVICTION_MARGIN_SECONDS)
    fold_series(state, update(10 * 60 + EVICTION_MARGIN_SECONDS, 2.0, 3.0), int(later.timestamp() * 1000), 10)
    assert len(state.candles) == 2  # still kept: within the margin
    much_later = later + timedelta(minutes=2)
    fold_series(state, update(10 * 60 + EVICTION_MARGIN_SECONDS + 120, 2.0, 3.0),
                int(much_later.timestamp() * 1000), 10)
    assert f"moneyline|acme|{int(T0.timestamp())}" not in state.candles and len(state.candles) == 2
