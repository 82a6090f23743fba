"""Sequencing and pricing of the stream processor, with no Kafka: seq, change, implied probability, movement."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import msgspec
import pytest
from sportsfeed_common.events import OddsUpdate, Trace
from sportsfeed_stream_processor.pricing import MovementThresholds, implied_probability
from sportsfeed_stream_processor.sequencing import (
    GameState,
    decode_state,
    encode_state,
    sequence,
)
from sportsfeed_stream_processor.settings import ProcessorSettings

SETTINGS_DEFAULT = next(f.default for f in msgspec.structs.fields(ProcessorSettings)
                        if f.name == "movement_thresholds")
T0 = datetime(2026, 11, 23, 12, tzinfo=UTC)
RECEIVED = datetime(2026, 11, 23, 12, 0, 5, tzinfo=UTC)


def update(seconds: float, home_odds: float = -110, away_odds: float = -110, market: str = "spread",
           provider: str = "acme", **fields) -> OddsUpdate:
    return OddsUpdate(provider=provider, game_id="game-1", market=market, ts=T0 + timedelta(seconds=seconds),
                      home_odds=home_odds, away_odds=away_odds, received_at=RECEIVED,
                      trace=Trace(ingested_at=1), **fields)


@pytest.mark.parametrize(("price", "fmt", "expected"), [
    (-110, "american", 110 / 210), (+150, "american", 100 / 250), (-100, "american", 0.5), (100, "american", 0.5),
    (2.0, "decimal", 0.5), (1.25, "decimal", 0.8),
])
def test_implied_probability(price: float, fmt: str, expected: float) -> None:
    assert implied_probability(price, fmt) == pytest.approx(expected)


def test_seq_is_gap_free_per_game_and_a_replay_or_late_price_gets_none() -> None:
    state = GameState()
    first = sequence(state, update(0), 0.02, now_ms=1000)
    other_market = sequence(state, update(0, market="total"), 0.02, now_ms=1001)
    second = sequence(state, update(1, home_odds=-115), 0.02, now_ms=1002)
    assert [s.live.seq for s in (first, other_market, second)] == [1, 2, 3]
    assert sequence(state, update(1, home_odds=-115), 0.02, now_ms=1003) is None  # the same update again
    assert sequence(state, update(0.5, home_odds=-130), 0.02, now_ms=1004) is None  # older than what is shown
    assert state.seq == 3 and state.markets["acme|spread"].home_odds == -115


def test_a_restored_state_continues_where_it_was() -> None:
    state = GameState()
    for n in range(5):
        sequence(state, update(n), 0.02, now_ms=n)
    restored = decode_state(encode_state(state))
    assert sequence(restored, update(4), 0.02, now_ms=9) is None
    assert sequence(restored, update(5), 0.02, now_ms=9).live.seq == 6
    assert decode_state(None) == GameState()


def test_change_implied_probabilities_movement_and_the_reference_fields() -> None:
    state = GameState()
    first = sequence(state, update(0, home_odds=-110, away_odds=-110, home=-3.5, away=3.5), 0.02, now_ms=7000)
    assert first.live.change is None and not first.live.movement and first.previous is None
    small = sequence(state, update(1, home_odds=-112, away_odds=-108, home=-3.5, away=3.5), 0.02, now_ms=8000)
    assert small.live.change.home_odds == -2 and small.live.change.home == 0 and not small.live.movement
    big = sequence(state, update(2, home_odds=-150, away_odds=+130, home=-4.5, away=4.5), 0.02, now_ms=9000)
    # The away side moved most: -108 (51.9%) to +130 (43.5%).
    assert big.live.movement and big.shift == pytest.approx(108 / 208 - 100 / 230)
    assert big.live.change.home == -1 and big.live.implied.home == pytest.approx(0.6)
    live = big.live
    assert (live.game_id, live.home, live.away, live.home_odds, live.away_odds, live.date) == (
        "game-1", -4.5, 4.5, -150, 130, int(RECEIVED.timestamp()))
    assert (live.trace.ingested_at, live.trace.processed_at) == (1, 9000)


def test_a_status_change_is_reported() -> None:
    state = GameState()
    sequence(state, update(0), 0.02, now_ms=0)
    suspended = sequence(state, update(1, status="suspended"), 0.02, now_ms=1)
    reopened = sequence(state, update(2), 0.02, now_ms=2)
    same = sequence(state, update(3), 0.02, now_ms=3)
    assert (suspended.status_changed, reopened.status_changed, same.status_changed) == (True, True, False)


def test_movement_thresholds_per_sport_and_market() -> None:
    thresholds = MovementThresholds.parse("*=0.02, soccer=0.05, soccer/total=0.04, */spread=0.01")
    assert (thresholds.for_market("soccer", "1x2"), thresholds.for_market("tennis", "moneyline"),
            thresholds.for_market(None, "moneyline")) == (0.05, 0.02, 0.02)
    assert thresholds.for_market("soccer", "total") == 0.04  # the sport's market before the sport
    assert (thresholds.for_market("basketball", "spread"), thresholds.for_market(None, "spread")) == (0.01, 0.01)
    assert MovementThresholds.parse(SETTINGS_DEFAULT).for_market("basketball", "spread") < 0.03
    for bad in ("soccer=0.05", "*=2", "*=abc", "*", "*=0.02,soccer/=0.05", "*=0.02,/total=0.05"):
        with pytest.raises(ValueError, match="MOVEMENT_THRESHOLDS"):
            MovementThresholds.parse(bad)
