"""The simulated provider: games, timestamps, pacing, and whole runs against a scripted ingest."""

from __future__ import annotations

import asyncio
import random
from datetime import UTC, datetime, timedelta

import pytest
from sportsfeed_common.events import Game, OddsUpdate, convert
from sportsfeed_common.settings import Secret
from sportsfeed_providers.catalogue import SPORTS, TEAMS, build_catalogue, game_payload
from sportsfeed_providers.pacing import (
    PacingSchedule,
    Stopped,
    Timekeeper,
    stop_aware_sleep,
)
from sportsfeed_providers.simulate import (
    OddsFeed,
    Options,
    ProgressMeter,
    Totals,
    parse_args,
    simulate,
)

from .provider_fakes import FakeIngest, FakeTime

NOW = datetime(2026, 11, 23, 10, 15, 30, 123000, tzinfo=UTC)
KEY = "sfk_simulator-key"


def frozen_clock() -> datetime:
    return NOW


# --- games --------------------------------------------------------------------------------------


def test_games_take_sports_round_robin_and_are_numbered_per_sport() -> None:
    games = build_catalogue(12, random.Random(1))
    assert [game.sport for game in games] == list(SPORTS) * 3
    assert [game.game_id for game in games[:5]] == [
        "game-sim-soccer-1", "game-sim-basketball-1", "game-sim-cricket-1", "game-sim-tennis-1", "game-sim-soccer-2",
    ]
    assert len({game.game_id for game in games}) == 12


@pytest.mark.parametrize("count", [1, 12, 100])
def test_games_are_valid_live_games_with_real_teams(count: int) -> None:
    for sim_game in build_catalogue(count, random.Random(count)):
        game = convert(game_payload(sim_game, NOW), Game)
        assert game.status == "live"
        assert game.home_team != game.away_team
        assert {game.home_team, game.away_team} <= set(TEAMS[game.sport])
        assert NOW - timedelta(hours=2) < game.game_date < NOW
        assert game.game_date.second == 0


def test_team_lists_pair_up_evenly() -> None:
    assert all(len(teams) % 2 == 0 and len(set(teams)) == len(teams) for teams in TEAMS.values())


def test_the_same_seed_gives_the_same_run() -> None:
    def run(seed: int) -> tuple[list, list]:
        rng = random.Random(seed)
        games = build_catalogue(8, rng)
        return games, OddsFeed(games, rng, frozen_clock).next_batch(50)

    assert run(42) == run(42)
    assert run(42) != run(43)


def test_basketball_reads_like_the_reference_summary() -> None:
    [_, basketball] = build_catalogue(2, random.Random(1))[:2]
    assert basketball.name == f"{basketball.away_team} @ {basketball.home_team}"


# --- odds feed ----------------------------------------------------------------------------------


def test_every_update_is_valid_and_ts_strictly_increases_per_market() -> None:
    rng = random.Random(7)
    feed = OddsFeed(build_catalogue(8, rng), rng, frozen_clock)
    last: dict[tuple[str, str], datetime] = {}
    ids = set()
    for item in feed.next_batch(4000):
        update = convert({**item, "provider": "sim"}, OddsUpdate)
        key = (update.game_id, update.market)
        assert key not in last or update.ts > last[key]
        last[key] = update.ts
        ids.add(update.id)
    assert len(ids) == 4000
    assert len(last) == 12  # every market of every game was walked


def test_ts_follows_the_clock_and_never_goes_back_when_it_does() -> None:
    moments = iter([NOW, NOW + timedelta(seconds=5), NOW - timedelta(seconds=30), NOW + timedelta(seconds=6)])
    game = build_catalogue(3, random.Random(1))[2]  # cricket: a single market
    feed = OddsFeed([game], random.Random(1), lambda: next(moments))
    stamps = [item["ts"] for item in feed.next_batch(4)]
    assert stamps == [
        "2026-11-23T10:15:30.123Z",
        "2026-11-23T10:15:35.123Z",
        "2026-11-23T10:15:35.124Z",
        "2026-11-23T10:15:36.123Z",
    ]


def test_update_payloads_carry_what_each_market_needs() -> None:
    rng = random.Random(3)
    feed = OddsFeed(build_catalogue(4, rng), rng, frozen_clock)
    by_market: dict[str, dict] = {}
    for item in feed.next_batch(400):
        by_market.setdefault(item["market"], item)
    assert set(by_market) == {"1x2", "total", "spread", "moneyline"}
    assert "drawOdds" in by_market["1x2"] and "home" not in by_market["1x2"]
    assert by_market["total"]["home"] == by_market["total"]["away"]
    assert by_market["spread"]["home"] == -by_market["spread"]["away"]
    assert by_market["spread"]["oddsFormat"] == "american"
    assert "provider" not in by_market["spread"]  # the API key decides it
    assert all(item["status"] == "open" for item in by_market.values())


# --- pacing -------------------------------------------------------------------------------------


def test_the_schedule_is_absolute_so_send_time_does_not_accumulate() -> None:
    schedule = PacingSchedule.for_rate(start=100.0, rate=20, batch_size=10)
    assert schedule.interval == 0.5
    now, dues = 100.0, []
    for _ in range(10):
        due = schedule.next_due(now)
        dues.append(due)
        now = max(now, due) + 0.3  # every send takes 0.3 s
    assert dues == [100.0 + 0.5 * k for k in range(10)]


def test_a_late_send_is_caught_up_without_shifting_the_rest() -> None:
    schedule = PacingSchedule(start=0.0, interval=0.5, max_lag=1.0)
    assert schedule.next_due(0.0) == 0.0
    assert schedule.next_due(1.4) == 0.5  # 0.9 s late: send now
    assert schedule.next_due(1.4) == 1.0
    assert schedule.next_due(1.4) == 1.5


def test_after_a_long_stall_the_schedule_restarts_instead_of_bursting() -> None:
    schedule = PacingSchedule(start=0.0, interval=0.5, max_lag=1.0)
    schedule.next_due(0.0)
    assert schedule.next_due(30.0) == 30.0
    assert schedule.next_due(30.0) == 30.5


def test_the_schedule_refuses_nonsense() -> None:
    with pytest.raises(ValueError):
        PacingSchedule(0.0, 0.0)
    with pytest.raises(ValueError):
        PacingSchedule.for_rate(0.0, 0.0, 10)


async def test_the_timekeeper_stops_at_its_deadline() -> None:
    time = FakeTime(start=0.0)
    keeper = Timekeeper(time.now, time.sleep, deadline=10.0)
    await keeper.sleep_until(4.0)
    with pytest.raises(Stopped):
        await keeper.sleep(20.0)
    assert time.sleeps == [4.0, 6.0]
    with pytest.raises(Stopped):
        await keeper.sleep(0.0)


async def test_a_stop_aware_sleep_ends_once_stop_is_set() -> None:
    stop = asyncio.Event()
    sleep = stop_aware_sleep(stop)
    await sleep(0)
    stop.set()
    with pytest.raises(Stopped):
        await sleep(3600)


def test_progress_line_reports_the_rate_since_the_last_line() -> None:
    meter = ProgressMeter(start=0.0)
    totals = Totals(sent=100, accepted=90, refused=10, retries=2)
    assert meter.line(totals, 5.0) == "sent=100 accepted=90 refused=10 retries=2 rate=20.0/s"
    totals.sent = 150
    assert meter.line(totals, 10.0).endswith("rate=10.0/s")


# --- whole runs ---------------------------------------------------------------------------------


def options(ingest: FakeIngest, **overrides: object) -> Options:
    values: dict = dict(url=ingest.url, api_key=Secret(KEY), games=4, rate=20.0, duration=1.0, batch_size=10, seed=1)
    values.update(overrides)
    return Options(**values)


async def run(ingest: FakeIngest, time: FakeTime, **overrides: object) -> int:
    chosen = options(ingest, **overrides)
    keeper = Timekeeper(time.now, time.sleep, deadline=time.now() + chosen.duration)
    return await simulate(chosen, keeper, wall_clock=frozen_clock, jitter=random.Random(1), progress_every=None)


async def test_a_run_loads_games_then_posts_paced_batches(
    ingest: FakeIngest, capsys: pytest.CaptureFixture[str]
) -> None:
    time = FakeTime(start=0.0)
    assert await run(ingest, time, duration=2.0) == 0
    assert ingest.paths() == ["PUT /v1/games"] + ["POST /v1/odds"] * 4
    games = ingest.requests[0].json()["games"]
    assert [convert(game, Game).game_id for game in games] == [
        "game-sim-soccer-1", "game-sim-basketball-1", "game-sim-cricket-1", "game-sim-tennis-1",
    ]
    for seen in ingest.requests[1:]:
        assert seen.headers["X-API-Key"] == KEY
        assert len(seen.json()["updates"]) == 10
    assert time.sleeps == [0.0, 0.5, 0.5, 0.5, 0.5]  # batches at 0, 0.5, 1.0, 1.5; the deadline at 2.0
    out = capsys.readouterr()
    assert "totals: sent=40 accepted=40 refused=0 retries=0 unsent=0" in out.out
    assert KEY not in out.out + out.err


async def test_a_batch_that_meets_503_is_resent_unchanged(
    ingest: FakeIngest, capsys: pytest.CaptureFixture[str]
) -> None:
    ingest.then(202, {"accepted": 4}).then(503, {"error": "unavailable"}).then(429, {}, {"Retry-After": "0.1"})
    assert await run(ingest, FakeTime(start=0.0), duration=0.5) == 0
    assert ingest.paths() == ["PUT /v1/games"] + ["POST /v1/odds"] * 3
    assert ingest.requests[1].body == ingest.requests[2].body == ingest.requests[3].body
    assert "totals: sent=10 accepted=10 refused=0 retries=2 unsent=0" in capsys.readouterr().out


async def test_a_batch_still_failing_at_the_deadline_is_reported_unsent(
    ingest: FakeIngest, capsys: pytest.CaptureFixture[str]
) -> None:
    ingest.then(202, {"accepted": 4})
    for _ in range(20):
        ingest.then(503, {"error": "unavailable"})
    assert await run(ingest, FakeTime(start=0.0), duration=5.0) == 0
    out = capsys.readouterr().out
    assert "totals: sent=10 accepted=0 refused=0" in out
    assert out.rstrip().endswith("unsent=10")
    assert len({seen.body for seen in ingest.requests[1:]}) == 1


async def test_a_refused_batch_is_counted_and_the_run_goes_on(
    ingest: FakeIngest, capsys: pytest.CaptureFixture[str]
) -> None:
    ingest.then(202, {"accepted": 4}).then(400, {"error": "bad_request", "message": "no"})
    assert await run(ingest, FakeTime(start=0.0), duration=1.0) == 0
    out = capsys.readouterr()
    assert "totals: sent=20 accepted=10 refused=10" in out.out
    assert "batch refused: HTTP 400 bad_request: no" in out.err


async def test_a_bad_key_ends_the_run_with_a_clear_message(
    ingest: FakeIngest, capsys: pytest.CaptureFixture[str]
) -> None:
    ingest.then(401, {"error": "unauthorized", "message": "unknown API key"})
    assert await run(ingest, FakeTime(start=0.0)) == 1
    assert ingest.paths() == ["PUT /v1/games"]
    err = capsys.readouterr().err
    assert "HTTP 401" in err and "PROVIDER_API_KEY" in err and KEY not in err


async def test_a_422_ends_the_run_and_prints_the_errors(
    ingest: FakeIngest, capsys: pytest.CaptureFixture[str]
) -> None:
    errors = [{"index": 2, "field": "drawOdds", "reason": "required for the three-way market '1x2'"}]
    ingest.then(202, {"accepted": 4}).then(422, {"error": "invalid", "message": "refused", "errors": errors})
    assert await run(ingest, FakeTime(start=0.0), duration=10.0) == 1
    assert ingest.paths() == ["PUT /v1/games", "POST /v1/odds"]
    assert "item 2 drawOdds: required for the three-way market '1x2'" in capsys.readouterr().err


# --- options ------------------------------------------------------------------------------------


def test_options_come_from_flags_or_environment() -> None:
    environ = {"PROVIDER_API_KEY": KEY, "SIM_RATE": "50", "INGEST_URL": "http://ingest:8081", "SIM_SEED": "3"}
    parsed = parse_args(["--games", "5"], environ)
    assert (parsed.url, parsed.games, parsed.rate, parsed.seed) == ("http://ingest:8081", 5, 50.0, 3)
    assert (parsed.duration, parsed.batch_size) == (0.0, 10)
    assert parsed.api_key.reveal() == KEY
    assert KEY not in repr(parsed)
    assert parse_args(["--rate", "5", "--api-key", "other"], environ).rate == 5.0


@pytest.mark.parametrize(
    "argv",
    [[], ["--api-key", "k", "--batch-size", "501"], ["--api-key", "k", "--rate", "0"], ["--api-key", "k", "--games", "0"]],
)
def test_bad_options_are_refused(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as raised:
        parse_args(argv, {})
    assert raised.value.code == 2
    capsys.readouterr()
