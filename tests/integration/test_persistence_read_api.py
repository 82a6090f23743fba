"""The read API on data that went through the pipeline: provider -> ingest -> odds.raw -> stream processor
-> odds.live -> persistence -> DynamoDB.

Ingest runs in-process (its own tests run it as a process); the stream processor and persistence
run as real processes, persistence's worker and read API together, exactly as `./sportsfeed up`
runs them.
Each reference access pattern is asked of the read API: create a game, insert odds
in batches, scheduled games by date, game by id, latest odds of a game, odds of a
game in a time range (the reference's active-connections pattern is the gateway's).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import boto3
import pytest
from aiohttp.test_utils import TestClient
from sportsfeed_common.aws import dynamodb_client_kwargs
from sportsfeed_common.events import update_id
from sportsfeed_common.items import candle_item, count_item
from sportsfeed_common.series import Candle, FeedCount, Ohlc
from sportsfeed_common.settings import CommonSettings, load_settings
from sportsfeed_common.topics import GAMES, ODDS_LIVE, ODDS_RAW, PROVIDER_ACTIVITY, create_topics
from sportsfeed_devstack.config import free_port
from sportsfeed_devstack.waiting import wait_until_async

from ..ingest_support import ACME, JSON, ingest_settings, start_client
from ..services import caught_up_group, service_process
from ..tables import fresh_table

pytestmark = pytest.mark.integration

DASHBOARD = "http://dashboard.example"


@dataclass
class Pipeline:
    ingest: TestClient
    read_api: str
    http: aiohttp.ClientSession
    table: Any  # a boto3 Table, for writing what the stream processor will write

    async def get(self, path: str, **params: Any) -> tuple[int, Any]:
        async with self.http.get(f"{self.read_api}{path}", params=params) as response:
            return response.status, await response.json()


@pytest.fixture(scope="module")
async def persistence_env(servers) -> dict[str, str]:
    await create_topics(servers.kafka_bootstrap)
    table = fresh_table(servers).dynamodb_table
    return {
        **os.environ, **servers.environment(),
        "DYNAMODB_TABLE": table,
        "CONSUMER_GROUP": await caught_up_group(servers.kafka_bootstrap, [ODDS_LIVE.name, GAMES.name]),
        "HOST": "127.0.0.1", "PORT": str(free_port()),
        "CORS_ALLOWED_ORIGINS": DASHBOARD,
    }


@pytest.fixture(scope="module")
async def processor(persistence_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[str]:
    """The stream processor that sequences what ingest accepts onto odds.live, where persistence reads it."""
    env = {**persistence_env, "PORT": str(free_port()), "CONSUMER_GROUP": await caught_up_group(
        persistence_env["KAFKA_BOOTSTRAP_SERVERS"], [ODDS_RAW.name, PROVIDER_ACTIVITY.name])}
    env.pop("CORS_ALLOWED_ORIGINS")
    url = f"http://127.0.0.1:{env['PORT']}"
    log = Path(tmp_path_factory.mktemp("processor")) / "processor.log"
    with service_process("sportsfeed_stream_processor.main", env, url, log):
        yield url


@pytest.fixture(scope="module")
def persistence(persistence_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    url = f"http://127.0.0.1:{persistence_env['PORT']}"
    log = Path(tmp_path_factory.mktemp("persistence")) / "persistence.log"
    with service_process("sportsfeed_persistence.main", persistence_env, url, log) as process:
        yield url
    assert process.returncode == 0, f"persistence did not shut down cleanly:\n{log.read_text()[-3000:]}"


@pytest.fixture(scope="module")
async def pipeline(servers, processor: str, persistence: str, persistence_env: dict[str, str]) -> AsyncIterator[Pipeline]:
    ingest = await start_client(ingest_settings(servers, ANONYMOUS_FEEDS_PROVIDER="reference"))
    settings = load_settings(CommonSettings, persistence_env)
    table = boto3.resource("dynamodb", **dynamodb_client_kwargs(settings)).Table(settings.dynamodb_table)
    async with aiohttp.ClientSession() as http:
        yield Pipeline(ingest, persistence, http, table)
    await ingest.close()


def iso(moment: datetime) -> str:
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def game_body(game_id: str, kickoff: datetime, status: str) -> dict[str, Any]:
    return {"gameId": game_id, "sport": "soccer", "name": "World Cup Qualifier", "homeTeam": "England",
            "awayTeam": "Hungary", "venue": "Wembley Stadium", "status": status,
            "gameDate": kickoff.isoformat().replace("+00:00", "Z")}  # whole hours: as the API writes it back


async def test_every_reference_access_pattern_on_data_from_the_pipeline(pipeline: Pipeline) -> None:
    # Kick-offs far from other tests' games, so the date range below holds only these.
    kickoff = datetime(2031, 1, 1, tzinfo=UTC) + timedelta(hours=uuid.uuid4().int % 100_000)
    first, second, live = (f"game-{uuid.uuid4()}" for _ in range(3))
    # Create a game (PUT /v1/games, stored through the compacted games topic).
    games = [game_body(second, kickoff + timedelta(hours=2), "scheduled"), game_body(live, kickoff, "live"),
             game_body(first, kickoff, "scheduled")]
    response = await pipeline.ingest.put("/v1/games", json={"games": games}, headers=ACME)
    assert response.status == 202, await response.text()

    # Insert odds in batches: one canonical batch, then two reference-format feeds (no API key).
    base = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=10)
    updates = [{"gameId": first, "market": "spread", "ts": iso(base + timedelta(seconds=n)), "home": -3.5,
                "away": 3.5, "homeOdds": -110 - n, "awayOdds": 100 + n} for n in range(30)]
    response = await pipeline.ingest.post("/v1/odds", json={"updates": updates}, headers=ACME)
    assert response.status == 202, await response.text()
    latest_date = int((base + timedelta(minutes=6)).timestamp())
    for date, away in ((latest_date - 60, -2), (latest_date, -4)):
        feed = {"odds": [{"gameId": first, "date": date, "away": away, "home": 1, "awayOdds": -110, "homeOdds": -105,
                          "summary": "England @ Hungary", "type": "spread", "isOpen": True}]}
        response = await pipeline.ingest.put("/feeds", json=feed, headers=JSON)
        assert response.status == 202, await response.text()

    async def all_stored() -> bool:
        status, body = await pipeline.get(f"/v1/games/{first}/odds", limit="1000")
        return status == 200 and len(body["odds"]) == 32

    await wait_until_async(all_stored, timeout=60, what="32 odds of the game through the read API", interval=0.25)

    # Game by id.
    status, body = await pipeline.get(f"/v1/games/{first}")
    assert status == 200 and body == games[2]

    # Scheduled games by date (GSI-1): in kick-off order, the live game absent, paged one at a time.
    seen, cursor = [], None
    while True:
        params = {"status": "scheduled", "from": iso(kickoff - timedelta(minutes=1)),
                  "to": iso(kickoff + timedelta(hours=3)), "limit": "1", **({"cursor": cursor} if cursor else {})}
        status, body = await pipeline.get("/v1/games", **params)
        assert status == 200 and len(body["games"]) <= 1
        seen += [game["gameId"] for game in body["games"]]
        cursor = body["nextCursor"]
        if cursor is None:
            break
    assert seen == [first, second]

    # Latest odds of a game: the reference's call and shape, and the v1 form.
    status, latest = await pipeline.get("/feeds", game=first)
    assert status == 200
    assert {key: latest[key] for key in ("PK", "AWAY", "HOME", "AWAYODDS", "HOMEODDS")} == {
        "PK": first, "AWAY": -4, "HOME": 1, "AWAYODDS": -110, "HOMEODDS": -105}
    assert latest["SK"].startswith("odds-") and latest["EXPIRE"] > latest["CREATED"] > latest_date
    status, body = await pipeline.get(f"/v1/games/{first}/odds/latest")
    assert status == 200 and (body["provider"], body["awayOdds"], body["away"]) == ("reference", -110, -4)

    # Odds of a game in a time range, sorted by time, a page of three at a time.
    seen, cursor = [], None
    while True:
        params = {"from": iso(base + timedelta(seconds=5)), "to": iso(base + timedelta(seconds=14)), "limit": "3",
                  **({"cursor": cursor} if cursor else {})}
        status, body = await pipeline.get(f"/v1/games/{first}/odds", **params)
        assert status == 200 and len(body["odds"]) <= 3
        seen += body["odds"]
        cursor = body["nextCursor"]
        if cursor is None:
            break
    assert [datetime.fromisoformat(odds["ts"]) for odds in seen] == [base + timedelta(seconds=n) for n in range(5, 15)]
    assert [odds["id"] for odds in seen] == [
        update_id("acme", first, "spread", base + timedelta(seconds=n)) for n in range(5, 15)]
    assert seen[0]["homeOdds"] == -115 and seen[0]["receivedAt"] is not None
    # Each stored update carries the seq it was pushed with: the history stitches to the live stream.
    status, body = await pipeline.get(f"/v1/games/{first}/odds", limit="1000")
    assert [odds["seq"] for odds in body["odds"]] == list(range(1, 33))


async def test_unknown_games_are_404_and_bad_parameters_400_naming_the_parameter(pipeline: Pipeline) -> None:
    unknown = f"game-{uuid.uuid4()}"
    for path, params in [("/feeds", {"game": unknown}), (f"/v1/games/{unknown}", {}),
                         (f"/v1/games/{unknown}/odds", {}), (f"/v1/games/{unknown}/odds/latest", {}),
                         (f"/v1/games/{unknown}/candles", {"market": "spread", "provider": "acme"})]:
        status, body = await pipeline.get(path, **params)
        assert (status, body["error"]) == (404, "not_found") and unknown in body["message"], path

    odds = f"/v1/games/{unknown}/odds"
    for path, params, field in [
        ("/feeds", {}, "game"),
        ("/feeds", {"game": "not a game"}, "gameId"),
        (odds, {"from": "yesterday"}, "from"),
        (odds, {"from": "2026-11-23T12:00:00"}, "from"),  # no time zone
        (odds, {"to": "9999999999999999"}, "to"),
        (odds, {"from": "2026-11-23T12:00:00Z", "to": "2026-11-23T11:00:00Z"}, "from"),
        (odds, {"limit": "0"}, "limit"),
        (odds, {"limit": "1001"}, "limit"),
        (odds, {"limit": "ten"}, "limit"),
        (odds, {"cursor": "not-a-cursor"}, "cursor"),
        (odds, {"form": "2026-11-23T12:00:00Z"}, "form"),
        ("/v1/games", {"status": "live"}, "status"),
        (f"/v1/games/{unknown}/candles", {}, "market"),
        (f"/v1/games/{unknown}/candles", {"market": "spread"}, "provider"),
        (f"/v1/games/{unknown}/candles", {"market": "spread", "provider": "Not a provider"}, "provider"),
        ("/v1/providers/ACME!/counts", {}, "provider"),
    ]:
        status, body = await pipeline.get(path, **params)
        assert (status, body["error"], body["errors"][0]["field"]) == (400, "invalid_query", field), (path, params)


async def test_a_cursor_only_continues_its_own_query(pipeline: Pipeline) -> None:
    game = f"game-{uuid.uuid4()}"
    start = datetime(2026, 11, 23, 12, tzinfo=UTC)
    for minute in range(3):
        for market in ("spread", "total"):
            pipeline.table.put_item(Item=candle_item(Candle(
                game_id=game, market=market, provider="acme", minute=start + timedelta(minutes=minute), count=1,
                home=Ohlc(open=-110, high=-110, low=-110, close=-110),
                away=Ohlc(open=100, high=100, low=100, close=100)), start + timedelta(days=1)))
    status, body = await pipeline.get(f"/v1/games/{game}/candles", market="spread", provider="acme", limit="1")
    assert status == 200 and body["nextCursor"]
    status, _ = await pipeline.get(f"/v1/games/{game}/candles", market="spread", provider="acme",
                                   cursor=body["nextCursor"])
    assert status == 200
    for path, params in [(f"/v1/games/{game}/candles", {"market": "total", "provider": "acme"}),
                         (f"/v1/games/{game}/candles", {"market": "spread", "provider": "beta"}),
                         (f"/v1/games/{game}-x/candles", {"market": "spread", "provider": "acme"})]:
        status, refused = await pipeline.get(path, cursor=body["nextCursor"], **params)
        assert (status, refused["errors"][0]["field"]) == (400, "cursor"), path


async def test_candles_and_feed_counts_by_minute_range(pipeline: Pipeline) -> None:
    """Written as the stream processor writes them (whole items), read back by minute range, in order."""
    game, provider = f"game-{uuid.uuid4()}", f"p{uuid.uuid4().hex[:8]}"
    start = datetime(2026, 11, 23, 12, tzinfo=UTC)
    expire = start + timedelta(days=365)
    candles = [Candle(game_id=game, market="1x2", provider=source, minute=start + timedelta(minutes=m),
                      count=m + 1 if source == "acme" else 50,
                      home=Ohlc(open=2.1, high=2.3, low=2.0, close=2.25), away=Ohlc(open=3.4, high=3.5, low=3.1, close=3.2),
                      draw=Ohlc(open=3.0, high=3.0, low=2.9, close=2.95)) for m in range(5) for source in ("acme", "beta")]
    with pipeline.table.batch_writer() as batch:
        for candle in candles:
            batch.put_item(Item=candle_item(candle, expire))
        # Each minute's count in shares, one per input partition, as the stream processor writes them.
        for m in range(5):
            for partition in range(m % 3 + 1):
                batch.put_item(Item=count_item(FeedCount(provider=provider, minute=start + timedelta(minutes=m),
                                                         count=20 * m), partition, expire))
    status, body = await pipeline.get(f"/v1/games/{game}/candles", market="1x2", provider="acme",
                                      **{"from": iso(start + timedelta(minutes=1, seconds=30)),
                                         "to": iso(start + timedelta(minutes=3))})
    assert status == 200 and body["nextCursor"] is None
    assert [c["minute"] for c in body["candles"]] == [iso(start + timedelta(minutes=m)).replace(".000", "")
                                                      for m in (1, 2, 3)]
    assert body["candles"][0] == {
        "gameId": game, "market": "1x2", "provider": "acme", "minute": "2026-11-23T12:01:00Z", "count": 2,
        "home": {"open": 2.1, "high": 2.3, "low": 2.0, "close": 2.25},
        "away": {"open": 3.4, "high": 3.5, "low": 3.1, "close": 3.2},
        "draw": {"open": 3.0, "high": 3.0, "low": 2.9, "close": 2.95},
    }
    # Shares added up per minute (20m x (m % 3 + 1) shares); a page of two minutes never splits one.
    status, body = await pipeline.get(f"/v1/providers/{provider}/counts", **{"from": iso(start), "limit": "2"})
    assert status == 200 and [c["count"] for c in body["counts"]] == [0, 40] and body["nextCursor"]
    status, body = await pipeline.get(f"/v1/providers/{provider}/counts", cursor=body["nextCursor"],
                                      **{"from": iso(start), "limit": "2"})
    assert status == 200 and [c["count"] for c in body["counts"]] == [120, 60] and body["nextCursor"]
    status, body = await pipeline.get(f"/v1/providers/{provider}/counts", cursor=body["nextCursor"],
                                      **{"from": iso(start)})
    assert status == 200 and body["counts"] == [{"provider": provider, "minute": "2026-11-23T12:04:00Z", "count": 160}]
    assert body["nextCursor"] is None


async def test_count_totals_per_minute_and_per_hour_for_a_game_and_a_provider(pipeline: Pipeline) -> None:
    """A game's minute is its candles' counts over every market plus its late share; a provider's is its
    shares added up; an hour adds its minutes up. Late shares are as persistence writes them."""
    game, provider = f"game-{uuid.uuid4()}", f"p{uuid.uuid4().hex[:8]}"
    start = datetime(2026, 11, 23, 12, 58, tzinfo=UTC)  # four minutes across an hour's end
    expire = start + timedelta(days=365)
    ohlc = Ohlc(open=2.1, high=2.3, low=2.0, close=2.25)
    with pipeline.table.batch_writer() as batch:
        for m in range(4):
            minute = start + timedelta(minutes=m)
            for market, count in (("1x2", 10 + m), ("total", 1)):
                batch.put_item(Item=candle_item(Candle(game_id=game, market=market, provider="acme", minute=minute,
                                                       count=count, home=ohlc, away=ohlc), expire))
            batch.put_item(Item=count_item(FeedCount(provider=provider, minute=minute, count=100), 0, expire))
            batch.put_item(Item=count_item(FeedCount(provider=provider, minute=minute, count=m), 7, expire))
        late_minute = {"MINUTE": "2026-11-23T12:59Z", "COUNT": 2, "EXPIRE": int(expire.timestamp())}
        batch.put_item(Item={"PK": game, "SK": "count-2026-11-23T12:59Z#late", **late_minute})
        batch.put_item(Item={"PK": f"provider-{provider}", "SK": "count-2026-11-23T12:59Z#late",
                             "PROVIDER": provider, **late_minute})
    window = {"from": iso(start), "to": iso(start + timedelta(minutes=3))}
    status, body = await pipeline.get(f"/v1/games/{game}/counts", **window)
    assert status == 200 and body["resolution"] == "minute" and body["gameId"] == game
    assert [(c["start"], c["count"]) for c in body["counts"]] == [
        ("2026-11-23T12:58:00Z", 11), ("2026-11-23T12:59:00Z", 14), ("2026-11-23T13:00:00Z", 13),
        ("2026-11-23T13:01:00Z", 14)]
    status, body = await pipeline.get(f"/v1/games/{game}/counts", resolution="hour", **window)
    assert status == 200 and [(c["start"], c["count"]) for c in body["counts"]] == [
        ("2026-11-23T12:00:00Z", 25), ("2026-11-23T13:00:00Z", 27)]
    status, body = await pipeline.get(f"/v1/providers/{provider}/counts/totals", resolution="hour", **window)
    assert status == 200 and body["provider"] == provider and [(c["start"], c["count"]) for c in body["counts"]] == [
        ("2026-11-23T12:00:00Z", 100 + 0 + 100 + 1 + 2), ("2026-11-23T13:00:00Z", 100 + 2 + 100 + 3)]
    # Totals are read whole: both bounds, at most 48 hours apart, and a known resolution.
    for query, field in (({"from": iso(start)}, "to"), ({**window, "resolution": "day"}, "resolution"),
                         ({"from": iso(start), "to": iso(start + timedelta(hours=49))}, "from")):
        status, body = await pipeline.get(f"/v1/games/{game}/counts", **query)
        assert status == 400 and field in str(body), body
    status, body = await pipeline.get(f"/v1/games/game-{uuid.uuid4()}/counts", **window)
    assert status == 404


async def test_cors_for_the_dashboard_origin_only(pipeline: Pipeline) -> None:
    url = f"{pipeline.read_api}/v1/games"
    async with pipeline.http.get(url, headers={"Origin": DASHBOARD}) as response:
        assert response.status == 200 and response.headers["Access-Control-Allow-Origin"] == DASHBOARD
    async with pipeline.http.options(url, headers={"Origin": DASHBOARD, "Access-Control-Request-Method": "GET",
                                                   "Access-Control-Request-Headers": "authorization"}) as response:
        assert response.status == 200 and "GET" in response.headers["Access-Control-Allow-Methods"]
    async with pipeline.http.get(url, headers={"Origin": "http://elsewhere.example"}) as response:
        assert response.status == 200 and "Access-Control-Allow-Origin" not in response.headers


async def test_metrics_health_and_openapi(pipeline: Pipeline) -> None:
    async with pipeline.http.get(f"{pipeline.read_api}/readyz") as response:
        assert response.status == 200 and (await response.json())["checks"] == {"dynamodb": "ok"}
    async with pipeline.http.get(f"{pipeline.read_api}/openapi.json") as response:
        paths = set((await response.json())["paths"])
    assert paths >= {"/feeds", "/v1/games", "/v1/games/{gameId}", "/v1/games/{gameId}/odds",
                     "/v1/games/{gameId}/odds/latest", "/v1/games/{gameId}/candles", "/v1/providers/{provider}/counts"}
    await pipeline.get("/v1/games")

    async def metrics_with_lag() -> str | None:
        async with pipeline.http.get(f"{pipeline.read_api}/metrics") as response:
            text = await response.text()
        return text if "sportsfeed_persistence_consumer_lag{" in text else None

    # The lag gauge is refreshed every few seconds.
    metrics = await wait_until_async(metrics_with_lag, timeout=30, what="the consumer lag gauge")
    for name in ("sportsfeed_persistence_requests_total{route=\"games\",status=\"200\"}",
                 "sportsfeed_persistence_batch_messages_bucket", "sportsfeed_persistence_write_seconds_bucket",
                 "sportsfeed_persistence_write_retries_total", "sportsfeed_persistence_dead_lettered_total",
                 "sportsfeed_persistence_consumer_lag{"):
        assert name in metrics, name
