"""A run's shared state: each provider its own market, analysts' game windows, and the drain at the end."""

from __future__ import annotations

from dataclasses import replace

from .good_settings import GOOD
from .sportsfeed_load.feed import Quote
from .sportsfeed_load.run import LoadRun


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def new_run(**changes: object) -> tuple[LoadRun, FakeClock]:
    clock = FakeClock()
    return LoadRun(replace(GOOD, **changes), run_id="t", clock=clock), clock


def test_each_provider_user_gets_a_market_of_its_own() -> None:
    run, _ = new_run(games=3)
    first, second = run.new_quote_source().take(1)[0], run.new_quote_source().take(1)[0]
    assert first.market != second.market


def test_analysts_watch_a_window_of_games_that_moves_from_one_analyst_to_the_next() -> None:
    run, _ = new_run(games=5, analyst_games=2)
    windows = [list(run.new_view()[1].games) for _ in range(3)]
    assert windows == [[run.games[0], run.games[1]], [run.games[2], run.games[3]], [run.games[4], run.games[0]]]


def test_the_drain_stops_sending_and_waits_for_requests_then_for_analysts() -> None:
    run, clock = new_run(games=1, drain_seconds=30)
    _, analyst = run.new_view()
    game = run.games[0]
    run.in_flight = 1

    def sleep(seconds: float) -> None:
        # What happens meanwhile: the request in flight is answered, then the analyst catches up.
        clock.now += seconds
        if run.in_flight:
            run.in_flight = 0
            run.sends.on_accepted([Quote(game, "load-0", 1, -110, 100), Quote(game, "load-0", 2, -110, 100)])
        elif analyst.last[game] < 2:
            analyst.on_odds(game, analyst.last[game] + 1)

    clock.now = 12.0
    result = run.drain(sleep)
    assert not run.sending
    assert run.sending_seconds == 12.0
    assert result.complete and analyst.last[game] == 2


def test_the_drain_gives_up_at_its_deadline_and_says_how_far_behind_analysts_are() -> None:
    run, clock = new_run(games=1, drain_seconds=2)
    run.new_view()
    run.sends.on_accepted([Quote(run.games[0], "load-0", 1, -110, 100)])

    def sleep(seconds: float) -> None:
        clock.now += seconds

    result = run.drain(sleep)
    assert (result.complete, result.behind_left, result.seconds) == (False, 1, 2.0)
