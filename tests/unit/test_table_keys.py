"""Table keys: sort order is time order, ranges are inclusive, GSI-1 stays sparse."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from sportsfeed_common.events import Game, OddsUpdate
from sportsfeed_common.items import game_item, odds_item
from sportsfeed_common.table import odds_range, odds_sort_key
from sportsfeed_common.times import iso_millis

CREATED = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


def test_timestamps_are_fixed_width() -> None:
    assert iso_millis(datetime(2026, 1, 2, 3, 4, 5, 6000, tzinfo=UTC)) == "2026-01-02T03:04:05.006Z"
    assert len(iso_millis(datetime(1, 1, 1, tzinfo=UTC))) == 24


def test_sort_key_order_is_time_order_across_digit_boundaries() -> None:
    # The reference keyed odds by epoch seconds, which sorted wrongly once the digit count changed
    # (999999999 -> 1000000000 in 2001).
    moments = [
        datetime.fromtimestamp(999_999_999, UTC),
        datetime.fromtimestamp(1_000_000_000, UTC),
        datetime.fromtimestamp(1_000_000_000.001, UTC),
        datetime(2026, 11, 23, tzinfo=UTC),
    ]
    keys = [odds_sort_key(moment, "acme", "spread") for moment in moments]
    assert keys == sorted(keys)


def test_range_bounds_include_both_ends_for_every_provider_and_market() -> None:
    start = datetime(2026, 11, 23, 10, tzinfo=UTC)
    end = start + timedelta(minutes=5)
    low, high = odds_range(start, end)
    assert low <= odds_sort_key(start, "0", "0") <= high
    assert low <= odds_sort_key(end, "zz-provider", "zz_market") <= high
    assert not low <= odds_sort_key(start - timedelta(milliseconds=1), "acme", "spread") <= high
    assert not low <= odds_sort_key(end + timedelta(milliseconds=1), "acme", "spread") <= high


def game(status: str) -> Game:
    return Game(
        game_id="game-1", sport="soccer", name="Final", home_team="A", away_team="B",
        game_date=datetime(2026, 12, 1, 20, tzinfo=UTC), status=status,  # type: ignore[arg-type]
    )


def test_only_scheduled_games_enter_the_scheduled_index() -> None:
    scheduled = game_item(game("scheduled"), CREATED)
    assert scheduled["ISSCHEDULED"] == "Y"
    assert scheduled["GAMEDATE"] == int(datetime(2026, 12, 1, 20, tzinfo=UTC).timestamp())
    assert (scheduled["PK"], scheduled["SK"]) == ("game-1", "game-soccer")
    for status in ("live", "finished", "cancelled"):
        assert "ISSCHEDULED" not in game_item(game(status), CREATED)


def test_odds_item_keeps_the_reference_attributes_and_expires() -> None:
    update = OddsUpdate(
        provider="acme", game_id="game-1", market="spread",
        ts=datetime(2026, 11, 23, 10, 0, 0, 250000, tzinfo=UTC),
        home=-3.5, away=3.5, home_odds=-110, away_odds=1.5e2,
    )
    item = odds_item(update, CREATED)
    assert item["SK"] == "odds-2026-11-23T10:00:00.250Z#acme#spread"
    assert item["HOME"] == Decimal("-3.5") and item["AWAYODDS"] == 150
    assert item["CREATED"] == int(CREATED.timestamp())
    assert item["EXPIRE"] == int((CREATED + timedelta(days=365)).timestamp())
    assert "DRAWODDS" not in item
