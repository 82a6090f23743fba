"""Feed-health alerts with a controllable clock: stale and its clearing, provider down and up, rate_low;
and the alerts that come with a sequenced update: movement and market status."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sportsfeed_common.events import OddsUpdate, StaleDetails
from sportsfeed_stream_processor.alerts import (
    ProviderHealth,
    StaleGames,
    movement_alert,
    parse_rate_thresholds,
    status_alert,
)
from sportsfeed_stream_processor.sequencing import GameState, sequence

MINUTE = 60_000
T0 = 1_795_430_400_000  # a whole minute, in epoch milliseconds


def test_a_live_game_goes_stale_once_and_clears_on_its_next_update() -> None:
    games = StaleGames(stale_after_ms=10_000)
    games.status("game-1", live=True, now_ms=T0)
    games.status("game-2", live=False, now_ms=T0)  # not live: never stale
    games.updated("game-1", T0 + 1_000)
    assert games.check(T0 + 10_999) == []
    [stale] = games.check(T0 + 11_000)
    assert (stale.kind, stale.game_id, stale.severity, stale.details.cleared) == ("stale", "game-1", "warning", False)
    assert games.check(T0 + 60_000) == []  # raised once
    cleared = games.updated("game-1", T0 + 61_000)
    assert cleared is not None and cleared.kind == "stale" and cleared.details == StaleDetails(cleared=True)
    assert games.updated("game-1", T0 + 62_000) is None
    assert [a.game_id for a in games.check(T0 + 72_000)] == ["game-1"]  # and again after another quiet spell


def test_a_game_that_goes_live_is_judged_from_kick_off_and_finished_games_never_stale() -> None:
    games = StaleGames(stale_after_ms=10_000)
    games.updated("game-1", T0)  # pre-match prices
    games.status("game-1", live=True, now_ms=T0 + 60_000)
    assert games.check(T0 + 65_000) == []
    assert len(games.check(T0 + 70_000)) == 1
    games.status("game-1", live=False, now_ms=T0 + 80_000)
    assert games.check(T0 + 500_000) == []


def test_provider_down_then_up() -> None:
    health = ProviderHealth(down_after_ms=30_000, rate_low={})
    assert health.seen("acme", {}, T0) is None
    assert health.check(T0 + 29_999) == []
    [down] = health.check(T0 + 30_000)
    assert (down.kind, down.provider, down.severity) == ("provider_down", "acme", "critical")
    assert health.check(T0 + 90_000) == []
    up = health.seen("acme", {}, T0 + 95_000)
    assert up is not None and up.kind == "provider_up"
    assert health.seen("acme", {}, T0 + 96_000) is None


def test_rate_low_for_a_completed_minute_under_the_threshold_but_not_the_first_partial_one() -> None:
    health = ProviderHealth(down_after_ms=10 * MINUTE, rate_low={"*": 100, "quiet": 0})
    health.seen("acme", {T0 // 1000: 10}, T0 + 30_000)  # first seen mid-minute: that minute is not judged
    health.seen("quiet", {T0 // 1000: 1}, T0 + 30_000)
    health.seen("acme", {T0 // 1000 + 60: 99}, T0 + MINUTE + 1_000)
    assert health.check(T0 + MINUTE + 2_000) == []
    [low] = health.check(T0 + 2 * MINUTE + 1)
    assert (low.kind, low.provider, low.details.count, low.details.threshold) == ("rate_low", "acme", 99, 100)
    assert health.check(T0 + 2 * MINUTE + 2) == []  # once per minute
    health.seen("acme", {T0 // 1000 + 120: 100}, T0 + 2 * MINUTE + 3)
    assert health.check(T0 + 3 * MINUTE) == []


def test_rate_thresholds_are_parsed_strictly() -> None:
    assert parse_rate_thresholds("*=60, acme=600") == {"*": 60, "acme": 600}
    for bad in ("acme", "acme=-1", "=5", "acme=1.5"):
        with pytest.raises(ValueError, match="RATE_LOW_THRESHOLDS"):
            parse_rate_thresholds(bad)


def test_movement_and_status_alerts_describe_the_update() -> None:
    state = GameState()
    ts = datetime(2026, 11, 23, 12, tzinfo=UTC)

    def update(seconds: int, home_odds: float, status: str = "open") -> OddsUpdate:
        return OddsUpdate(provider="acme", game_id="game-1", market="moneyline", ts=ts + timedelta(seconds=seconds),
                          home_odds=home_odds, away_odds=+120, status=status)  # type: ignore[arg-type]

    sequence(state, update(0, -110), 0.02, now_ms=T0)
    moved = sequence(state, update(1, -200, status="suspended"), 0.02, now_ms=T0 + 1)
    assert moved is not None and moved.live.movement and moved.status_changed
    movement = movement_alert(moved, T0 + 1)
    assert (movement.kind, movement.game_id, movement.details.seq, movement.details.market) == (
        "movement", "game-1", 2, "moneyline")
    suspended = status_alert(moved, T0 + 1)
    assert (suspended.kind, suspended.severity, suspended.details.status, suspended.details.previous_status) == (
        "suspended", "warning", "suspended", "open")
