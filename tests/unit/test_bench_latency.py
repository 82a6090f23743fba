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


def test_one_in_twenty_analysts_is_slow_and_reads_at_a_third_of_its_arrival_pace() -> None:
    from sportsfeed_bench.latency import SLOW_PACE_FACTOR, slow_read_delays

    delays = slow_read_delays(analysts=500, slow_share=0.05, rate=800, per_analyst=5)
    slow = [delay for delay in delays if delay]
    assert len(slow) == 25
    arriving_per_second = 800 * 5 / GAMES  # 20 updates/s reach each analyst
    assert slow[0] == SLOW_PACE_FACTOR / arriving_per_second
    assert slow_read_delays(analysts=10, slow_share=0.0, rate=800, per_analyst=5) == [0.0] * 10


def _result(**counts: float):
    from sportsfeed_bench.latency import LatencyResult

    base = {"offered_per_second": 1000.0, "seconds": 20.0, "analysts": 2, "sent": 100, "accepted": 100,
            "stored": 100, "delivered_frames": 200, "expected_frames": 200, "lost": 0, "duplicates": 0,
            "p50_ms": 1.0, "p95_ms": 1.0, "p99_ms": 1.0, "max_ms": 1.0, "late_sends": 0, "hops_p50_p99_ms": {}}
    return LatencyResult(**{**base, **counts})


def test_delivered_counts_conflated_updates_as_reaching_the_slow_analyst_and_missing_frames_as_not() -> None:
    assert _result().delivered == 100
    assert _result(delivered_frames=190, conflated=10).delivered == 100  # ten merged into later frames
    assert _result(delivered_frames=197).delivered == 97  # three frames never came
    assert _result(delivered_frames=202, duplicates=2).delivered == 100  # copies do not make up for anything
    assert _result(stored=98).delivered == 98  # never more than were stored


def test_the_storage_line_gives_bucket_bounds_and_the_catch_up_after_the_load() -> None:
    import math

    from sportsfeed_bench.latency import storage_summary

    result = _result(storage_lag_p50_ms=100.0, storage_lag_p99_ms=1_000.0, storage_caught_up_seconds=3.14)
    assert storage_summary(result) == ("storage lag, ingest to DynamoDB (bucket resolution): p50 <= 100 ms, "
                                       "p99 <= 1,000 ms; storage caught up 3.1 s after the load stopped")
    assert storage_summary(_result(storage_lag_p99_ms=math.inf)).endswith(
        "p50 -, p99 beyond the last bucket")
    assert result.to_json()["storage_caught_up_seconds"] == 3.14
