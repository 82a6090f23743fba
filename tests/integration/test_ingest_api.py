"""Ingest against real Kafka and Redis: what it acknowledges is on odds.raw exactly; what it refuses never is."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import msgspec
import pytest
from sportsfeed_common.events import Game, OddsUpdate, decode
from sportsfeed_common.times import epoch_millis
from sportsfeed_common.topics import GAMES

from ..ingest_support import (
    ACME,
    ACME_KEY,
    JSON,
    LIMITED_KEY,
    OTHER_KEY,
    accepted,
    assert_refused_and_nothing_reached_kafka,
    new_game,
    odds_item,
    valid_batch,
)
from ..kafka_watch import TopicWatch

pytestmark = pytest.mark.integration


# --- what is accepted arrives exactly ---------------------------------------------------------


async def test_accepted_updates_are_on_odds_raw_exactly_keyed_and_in_order(client, odds_raw) -> None:
    games = [new_game() for _ in range(3)]
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=5)
    batches = [
        [odds_item(games[n % 3], start + timedelta(milliseconds=10 * n + step), homeOdds=-110 - n)
         for n in range(30)]
        for step in (0, 1)
    ]
    await odds_raw.mark()
    before = epoch_millis(datetime.now(UTC))
    ids = []
    for batch in batches:
        body = await accepted(await client.post("/v1/odds", json={"updates": batch}, headers=ACME))
        assert body["accepted"] == 30
        ids.extend(body["ids"])
    records = [r for r in await odds_raw.read() if r.key.decode() in games]
    assert len(records) == 60
    updates = [decode(r.value, OddsUpdate) for r in records]
    assert sorted(u.id for u in updates) == sorted(ids)
    for record, update in zip(records, updates, strict=True):
        assert record.key == update.game_id.encode()
        assert update.provider == "acme"
        assert update.trace.ingested_at is not None and update.trace.ingested_at >= before
        assert update.received_at is not None
    for game in games:  # per game, the order sent is the order stored
        sent = [(item["ts"], item["homeOdds"]) for batch in batches for item in batch if item["gameId"] == game]
        got = [(u.ts.isoformat().replace("+00:00", "Z"), u.home_odds) for u in updates if u.game_id == game]
        assert [(datetime.fromisoformat(ts), odds) for ts, odds in sent] == [
            (datetime.fromisoformat(ts), odds) for ts, odds in got
        ]
    first = updates[[u.id for u in updates].index(ids[0])]
    expected = batches[0][0]
    assert (first.game_id, first.market, first.home, first.away, first.home_odds, first.away_odds) == (
        expected["gameId"], "spread", -3.5, 3.5, -110.0, -105.0,
    )
    assert (first.odds_format, first.status, first.draw_odds) == ("american", "open", None)


async def test_a_retried_batch_has_the_same_ids(client) -> None:
    batch = {"updates": [odds_item(new_game(), datetime(2026, 11, 1, 12, tzinfo=UTC))]}
    first = await accepted(await client.post("/v1/odds", json=batch, headers=ACME))
    second = await accepted(await client.post("/v1/odds", json=batch, headers=ACME))
    assert first["ids"] == second["ids"]


async def test_a_reference_feed_is_accepted_and_normalised(client, odds_raw) -> None:
    game_a, game_b = new_game(), new_game()
    reference_body = {
        "odds": [
            {"summary": "Portland Trail Blazers @ Charlotte Hornets", "gameId": game_a,
             "gameDate": "2019-03-03 13:00:00.000", "type": "spread", "isOpen": True,
             "away": -4, "home": 1, "awayOdds": -110, "homeOdds": -110, "date": 1_763_900_000},
            {"summary": "x", "gameId": game_b, "gameDate": "2019-03-03 13:00:00.000", "type": "spread",
             "isOpen": False, "away": -2, "home": 3, "awayOdds": -110, "homeOdds": -120,
             "date": "2025-11-23 12:13:20.500"},
        ]
    }
    await odds_raw.mark()
    body = await accepted(await client.put("/feeds", json=reference_body, headers={**JSON, "X-API-Key": OTHER_KEY}))
    assert body["message"] == "Feeds Added Successfully"
    assert body["accepted"] == 2
    updates = {u.game_id: u for u in (decode(r.value, OddsUpdate) for r in await odds_raw.read())}
    a, b = updates[game_a], updates[game_b]
    assert (a.provider, a.market, a.odds_format, a.status) == ("other", "spread", "american", "open")
    assert (a.away, a.home, a.away_odds, a.home_odds) == (-4, 1, -110, -110)
    assert a.ts == datetime.fromtimestamp(1_763_900_000, UTC)
    assert b.status == "suspended"
    assert b.ts == datetime(2025, 11, 23, 12, 13, 20, 500000, tzinfo=UTC)


async def test_games_go_to_the_compacted_games_topic(servers, client) -> None:
    game_id = new_game()
    game = {"gameId": game_id, "sport": "soccer", "name": "World Cup Qualifier", "homeTeam": "England",
            "awayTeam": "Hungary", "venue": "Wembley Stadium", "gameDate": "2026-12-01T19:45:00Z"}
    async with TopicWatch(servers.kafka_bootstrap, GAMES.name) as games:
        await games.mark()
        body = await accepted(await client.put("/v1/games", json={"games": [game]}, headers=ACME))
        assert body == {"accepted": 1, "gameIds": [game_id]}
        records = [r for r in await games.read() if r.key == game_id.encode()]
    assert len(records) == 1
    stored = decode(records[0].value, Game)
    assert (stored.name, stored.status, stored.game_date) == (
        "World Cup Qualifier", "scheduled", datetime(2026, 12, 1, 19, 45, tzinfo=UTC),
    )


# --- every refusal: its status, its body, and nothing on Kafka ---------------------------------


@pytest.mark.parametrize(
    ("headers", "reason"),
    [(JSON, "missing"), ({**JSON, "X-API-Key": "sfk_not-a-real-key"}, "not valid")],
)
async def test_missing_or_unknown_key_is_401(client, odds_raw, headers, reason) -> None:
    refused = await assert_refused_and_nothing_reached_kafka(
        client, odds_raw, lambda: client.post("/v1/odds", json=valid_batch(), headers=headers), 401, "unauthorized"
    )
    assert reason in refused["body"]["message"]


async def test_reference_feeds_also_need_a_key_unless_configured(client, odds_raw) -> None:
    body = {"odds": [{"gameId": new_game(), "date": 1_763_900_000, "away": -4, "home": 1,
                      "awayOdds": -110, "homeOdds": -110}]}
    await assert_refused_and_nothing_reached_kafka(
        client, odds_raw, lambda: client.put("/feeds", json=body, headers=JSON), 401, "unauthorized"
    )


@pytest.mark.parametrize(
    "content_type", ["text/plain", "application/x-www-form-urlencoded", "application/json; charset=latin-1"]
)
async def test_wrong_content_type_is_415(client, odds_raw, content_type) -> None:
    data = msgspec.json.encode(valid_batch())
    await assert_refused_and_nothing_reached_kafka(
        client, odds_raw,
        lambda: client.post("/v1/odds", data=data, headers={"Content-Type": content_type, "X-API-Key": ACME_KEY}),
        415, "unsupported_media_type",
    )


@pytest.mark.parametrize(
    "data", [b'{"updates": [', b"not json", b'{"updates": [NaN]}', b"\xff\xfe{}", b"5!\xc3q", b'{"updates": 1} x']
)
async def test_malformed_json_is_400(client, odds_raw, data) -> None:
    await assert_refused_and_nothing_reached_kafka(
        client, odds_raw, lambda: client.post("/v1/odds", data=data, headers=ACME), 400, "malformed_json"
    )


async def test_a_body_over_the_size_limit_is_413(client, odds_raw) -> None:
    data = b'{"updates": [' + b" " * (300 * 1024) + b"]}"
    refused = await assert_refused_and_nothing_reached_kafka(
        client, odds_raw, lambda: client.post("/v1/odds", data=data, headers=ACME), 413, "payload_too_large"
    )
    assert "262144" in refused["body"]["message"]


async def test_a_body_over_the_size_limit_without_content_length_is_413(client, odds_raw) -> None:
    async def chunks():
        for _ in range(300):
            yield b" " * 1024

    await assert_refused_and_nothing_reached_kafka(
        client, odds_raw, lambda: client.post("/v1/odds", data=chunks(), headers=ACME), 413, "payload_too_large"
    )


async def test_more_items_than_a_batch_may_hold_is_413(client, odds_raw) -> None:
    now = datetime.now(UTC)
    game = new_game()
    batch = {"updates": [odds_item(game, now - timedelta(milliseconds=n)) for n in range(501)]}
    refused = await assert_refused_and_nothing_reached_kafka(
        client, odds_raw, lambda: client.post("/v1/odds", json=batch, headers=ACME), 413, "payload_too_large"
    )
    assert "at most 500" in refused["body"]["message"]


async def test_invalid_items_are_422_with_one_error_each_and_nothing_accepted(client, odds_raw) -> None:
    now = datetime.now(UTC)
    game = new_game()
    batch = {"updates": [
        odds_item(game, now - timedelta(seconds=4)),
        odds_item(game, now - timedelta(seconds=3), homeOdds=-50),
        odds_item(game, now - timedelta(seconds=2)),
        odds_item(game, now - timedelta(seconds=1), gameId="12345", homeOdds="x"),
        odds_item(game, now + timedelta(hours=2)),
        odds_item(game, now, provider="other"),
        odds_item(game, now, homeodds=-110),
        odds_item(game, now, market="1x2", oddsFormat="decimal", homeOdds=2.0, awayOdds=3.0),
        {**odds_item(game, now), "ts": "0001-01-01T00:00:00+03:00"},  # found by the generated-input test
    ]}
    refused = await assert_refused_and_nothing_reached_kafka(
        client, odds_raw, lambda: client.post("/v1/odds", json=batch, headers=ACME), 422, "invalid_items"
    )
    errors = {error["index"]: error for error in refused["body"]["errors"]}
    assert sorted(errors) == [1, 3, 4, 5, 6, 7, 8]
    assert errors[1]["field"] == "homeOdds" and "American odds" in errors[1]["reason"]
    assert errors[3]["field"] == "gameId"
    assert errors[4]["field"] == "ts" and "ahead of the server clock" in errors[4]["reason"]
    assert errors[5]["field"] == "provider"
    assert errors[6]["field"] == "homeodds" and "unknown" in errors[6]["reason"].lower()
    assert errors[7]["field"] == "drawOdds"
    assert errors[8]["field"] == "ts" and "out of range" in errors[8]["reason"]
    assert "nothing was accepted" in refused["body"]["message"]


@pytest.mark.parametrize(
    ("body", "field"),
    [({"updates": []}, "updates"), ({}, "updates"), ({"updates": {}}, "updates"), ([], None),
     ({"updates": [], "extra": 1}, "extra")],
)
async def test_a_badly_shaped_body_is_422(client, odds_raw, body, field) -> None:
    refused = await assert_refused_and_nothing_reached_kafka(
        client, odds_raw, lambda: client.post("/v1/odds", json=body, headers=ACME), 422, "invalid_items"
    )
    assert refused["body"]["errors"][0]["index"] is None
    assert refused["body"]["errors"][0]["field"] == field


async def test_an_invalid_reference_feed_is_422(client, odds_raw) -> None:
    body = {"odds": [
        {"gameId": new_game(), "date": "yesterday", "away": -4, "home": 1, "awayOdds": -110, "homeOdds": -110},
        {"gameId": new_game(), "date": 1_763_900_000, "away": -4, "home": 1, "awayOdds": -110},
    ]}
    refused = await assert_refused_and_nothing_reached_kafka(
        client, odds_raw, lambda: client.put("/feeds", json=body, headers=ACME), 422, "invalid_items"
    )
    assert [(e["index"], e["field"]) for e in refused["body"]["errors"]] == [(0, "date"), (1, "homeOdds")]


async def test_over_the_rate_limit_is_429_with_retry_after(client, odds_raw) -> None:
    limited = {**JSON, "X-API-Key": LIMITED_KEY}
    game = new_game()
    now = datetime.now(UTC)
    within = {"updates": [odds_item(game, now - timedelta(milliseconds=n)) for n in range(5)]}
    await accepted(await client.post("/v1/odds", json=within, headers=limited))
    refused = await assert_refused_and_nothing_reached_kafka(
        client, odds_raw, lambda: client.post("/v1/odds", json=valid_batch(), headers=limited), 429, "rate_limited"
    )
    assert 1 <= int(refused["headers"]["Retry-After"]) <= 60


async def test_a_body_that_trickles_in_too_slowly_is_408(client, odds_raw) -> None:
    async def exchange():
        reader, writer = await asyncio.open_connection(client.server.host, client.server.port)
        writer.write(
            b"POST /v1/odds HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\n"
            + f"X-API-Key: {ACME_KEY}\r\nContent-Length: 1000\r\n\r\n".encode()
            + b'{"updates": ['
        )
        await writer.drain()
        async with asyncio.timeout(10):  # the server's body deadline is 1 s
            head = await reader.readuntil(b"\r\n\r\n")
            length = int([line for line in head.split(b"\r\n") if line.lower().startswith(b"content-length")][0].split(b":")[1])
            payload = await reader.readexactly(length)
        writer.close()
        await writer.wait_closed()
        return head, msgspec.json.decode(payload)

    await odds_raw.mark()
    head, body = await exchange()
    assert head.startswith(b"HTTP/1.1 408")
    assert body["error"] == "request_timeout"
    assert await odds_raw.read() == []


async def test_unknown_routes_and_methods_answer_json(client) -> None:
    missing = await client.get("/v1/nothing")
    assert missing.status == 404 and (await missing.json())["error"] == "not_found"
    wrong = await client.get("/v1/odds")
    assert wrong.status == 405 and (await wrong.json())["error"] == "method_not_allowed"


async def test_metrics_count_requests_and_accepted_updates(client) -> None:
    await accepted(await client.post("/v1/odds", json=valid_batch(), headers=ACME))
    text = await (await client.get("/metrics")).text()
    assert 'ingest_requests_total{route="odds",status="202"}' in text
    assert 'ingest_updates_accepted_total{provider="acme",topic="odds.raw"}' in text
    assert "ingest_produce_seconds_bucket" in text


async def test_openapi_describes_every_write(client) -> None:
    document = await (await client.get("/openapi.json")).json()
    assert set(document["paths"]) >= {"/v1/odds", "/v1/games", "/feeds", "/healthz", "/readyz", "/metrics"}
    responses = document["paths"]["/v1/odds"]["post"]["responses"]
    assert set(responses) == {"202", "400", "401", "408", "413", "415", "422", "429", "503"}
