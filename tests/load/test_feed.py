"""Provider users' bodies: ingest's own validation accepts them, and no update is one the platform drops."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from itertools import pairwise

import pytest
from sportsfeed_common.events import OddsUpdate
from sportsfeed_common.times import epoch_millis
from sportsfeed_ingest.payloads import (
    Context,
    parse_reference_date,
    validate_odds,
    validate_reference_feed,
)

from .sportsfeed_load.feed import (
    EndpointMix,
    QuoteSource,
    TsClock,
    feeds_body,
    new_run_id,
    odds_body,
    reference_date,
    run_games,
)

PROVIDER = "sim"


def ingest_context() -> Context:
    return Context.at(PROVIDER, datetime.now(UTC), max_items=500, max_future_skew=timedelta(seconds=300))


def frozen_clock(ms: int = 1_763_900_000_000) -> TsClock:
    return TsClock(now_ms=lambda: ms)


def test_an_odds_batch_is_accepted_by_ingest_as_sent() -> None:
    quotes = QuoteSource(run_games(new_run_id(), 3), market="load-0").take(25)
    updates = validate_odds(odds_body(quotes), ingest_context())
    assert [(u.game_id, u.market, epoch_millis(u.ts), u.home_odds, u.away_odds) for u in updates] == [
        (q.game_id, q.market, q.ts_ms, q.home_odds, q.away_odds) for q in quotes
    ]


def test_a_reference_feed_batch_is_accepted_by_ingest_with_its_market_and_millisecond() -> None:
    quotes = QuoteSource(run_games(new_run_id(), 3), market="load-1").take(25)
    updates = validate_reference_feed(feeds_body(quotes), ingest_context())
    assert [(u.game_id, u.market, epoch_millis(u.ts), u.status) for u in updates] == [
        (q.game_id, q.market, q.ts_ms, "open") for q in quotes
    ]


@pytest.mark.parametrize("ts_ms", [1_763_900_000_000, 1_763_900_000_001, 1_763_900_000_999, 1_763_900_059_990])
def test_the_reference_date_keeps_the_millisecond(ts_ms: int) -> None:
    assert epoch_millis(parse_reference_date(reference_date(ts_ms))) == ts_ms


def test_every_update_of_a_provider_user_is_new_to_the_processor_whichever_endpoint_it_took() -> None:
    # Even with a stopped wall clock: ts must still rise per game, or the processor would skip updates.
    source, mix = QuoteSource(run_games("r", 4), market="load-0", clock=frozen_clock()), EndpointMix(0.5)
    updates: list[OddsUpdate] = []
    for _ in range(10):
        quotes = source.take(7)
        validate = validate_reference_feed if mix.next_is_feeds() else validate_odds
        body = feeds_body(quotes) if validate is validate_reference_feed else odds_body(quotes)
        updates.extend(validate(body, ingest_context()))
    assert len({u.id for u in updates}) == 70
    for game in run_games("r", 4):
        stamps = [u.ts for u in updates if u.game_id == game]
        assert stamps == sorted(set(stamps))


def test_two_provider_users_never_share_an_id_even_at_the_same_millisecond() -> None:
    games = run_games("r", 2)
    first = QuoteSource(games, market="load-0", clock=frozen_clock()).take(4)
    second = QuoteSource(games, market="load-1", clock=frozen_clock()).take(4)
    updates = validate_odds(odds_body(first + second), ingest_context())
    assert len({u.id for u in updates}) == 8


def test_the_ts_clock_follows_the_wall_clock_and_rises_per_game() -> None:
    now = [1000]
    clock = TsClock(now_ms=lambda: now[0])
    assert [clock.next_ts("a"), clock.next_ts("a"), clock.next_ts("b")] == [1000, 1001, 1000]
    now[0] = 5000
    assert clock.next_ts("a") == 5000


@pytest.mark.parametrize(("share", "batches", "feeds"), [(0.0, 10, 0), (1.0, 10, 10), (0.5, 10, 5), (0.1, 100, 10),
                                                         (0.3, 100, 30)])
def test_the_endpoint_mix_sends_its_share_to_feeds(share: float, batches: int, feeds: int) -> None:
    mix = EndpointMix(share)
    assert sum(mix.next_is_feeds() for _ in range(batches)) == feeds


def test_half_and_half_alternates() -> None:
    mix = EndpointMix(0.5)
    assert [mix.next_is_feeds() for _ in range(4)] == [False, True, False, True]


def test_runs_get_their_own_games() -> None:
    assert set(run_games(new_run_id(), 3)).isdisjoint(run_games(new_run_id(), 3))


def test_prices_move_a_point_at_a_time_so_no_update_is_a_movement_alert() -> None:
    # The processor alerts at a 0.02 shift in implied probability (its default threshold).
    quotes = QuoteSource(["game-a"], market="load-0").take(40)
    implied = [-q.home_odds / (-q.home_odds + 100) for q in quotes]
    assert len({q.home_odds for q in quotes}) == 10
    assert max(abs(after - before) for before, after in pairwise(implied)) < 0.01
