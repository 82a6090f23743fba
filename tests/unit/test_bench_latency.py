"""The latency benchmark's load: providers own their games and post them in order; analysts cover every game."""

from __future__ import annotations

import json

from sportsfeed_bench.latency import LANES, watched_games
from sportsfeed_bench.workload import GAMES, Workload


def test_a_provider_step_has_one_update_per_game_and_later_steps_are_later() -> None:
    workload = Workload("t1")
    games = list(range(3, GAMES, LANES))
    first, second = (json.loads(workload.step_body(games, step))["updates"] for step in (0, 1))
    assert [u["gameId"] for u in first] == [workload.game(n) for n in games]
    assert all(a["ts"] < b["ts"] for a, b in zip(first, second, strict=True))


def test_the_analysts_together_watch_every_game() -> None:
    workload = Workload("t2")
    watching = watched_games(workload, analysts=GAMES, per_analyst=5)
    assert all(len(games) == 5 for games in watching)
    assert {game for games in watching for game in games} == {workload.game(n) for n in range(GAMES)}
