"""The reference feed generator's payload and sends, and the sample data's games and client items."""

from __future__ import annotations

import random
from datetime import UTC, datetime
from typing import Any

import pytest
from sportsfeed_common.events import Game, convert
from sportsfeed_common.settings import Secret, SettingsError
from sportsfeed_providers.pacing import Timekeeper
from sportsfeed_providers.reference_feed import (
    REFERENCE_GAME_IDS,
    parse_args,
    reference_odds,
    send_feeds,
)
from sportsfeed_providers.reference_feed import Options as FeedOptions
from sportsfeed_providers.sample_data import (
    client_update,
    load_dynamo_settings,
    load_games,
    on_the_hour,
    sample_games,
    write_client,
    write_clients,
)

from .provider_fakes import FakeIngest, FakeTime

NOW = datetime(2026, 11, 23, 10, 44, 59, 999000, tzinfo=UTC)
REFERENCE_FIELDS = ["summary", "gameId", "gameDate", "type", "isOpen", "away", "home", "awayOdds", "homeOdds", "date"]

# --- reference feed -----------------------------------------------------------------------------


def test_the_reference_payload_has_exactly_the_reference_fields() -> None:
    odds = reference_odds(random.Random(1), NOW)
    assert [record["gameId"] for record in odds] == list(REFERENCE_GAME_IDS)
    for record in odds:
        assert list(record) == REFERENCE_FIELDS
        assert record["summary"] == "Portland Trail Blazers @ Charlotte Hornets"
        assert record["gameDate"] == "2019-03-03 13:00:00.000"
        assert (record["type"], record["isOpen"]) == ("spread", True)
        assert (record["awayOdds"], record["homeOdds"]) == (-110, -110)
        assert record["date"] == 1_795_430_699
        assert type(record["date"]) is int


def test_reference_lines_cover_their_ranges() -> None:
    rng = random.Random(2)
    records = [record for _ in range(500) for record in reference_odds(rng, NOW)]
    assert {record["away"] for record in records} == {-4, -3, -2, -1, 0}
    assert {record["home"] for record in records} == {1, 2, 3, 4, 5}


def test_two_sends_in_one_second_share_their_date() -> None:
    later = NOW.replace(microsecond=0)
    assert reference_odds(random.Random(1), NOW)[0]["date"] == reference_odds(random.Random(2), later)[0]["date"]


async def test_sends_every_interval_and_prints_each_answer(
    ingest: FakeIngest, capsys: pytest.CaptureFixture[str]
) -> None:
    ingest.then(202, {"message": "Feeds Added Successfully", "accepted": 2, "ids": ["a", "b"]})
    time = FakeTime(start=0.0)
    options = FeedOptions(url=ingest.url, api_key=None, iterations=3, interval=2.0)
    assert await send_feeds(options, Timekeeper(time.now, time.sleep), wall_clock=lambda: NOW) == 0
    assert ingest.paths() == ["PUT /feeds"] * 3
    assert time.sleeps == [0.0, 2.0, 2.0]
    body = ingest.requests[0].json()
    assert list(body) == ["odds"] and len(body["odds"]) == 2
    assert "X-API-Key" not in ingest.requests[0].headers
    out = capsys.readouterr().out.splitlines()
    assert out[0] == '202 {"message": "Feeds Added Successfully", "accepted": 2, "ids": ["a", "b"]}'
    assert len(out) == 3


async def test_a_refused_send_makes_the_exit_code_non_zero(
    ingest: FakeIngest, capsys: pytest.CaptureFixture[str]
) -> None:
    ingest.then(401, {"error": "unauthorized", "message": "missing API key"})
    time = FakeTime(start=0.0)
    options = FeedOptions(url=ingest.url, api_key=Secret("k"), iterations=2, interval=2.0)
    assert await send_feeds(options, Timekeeper(time.now, time.sleep)) == 1
    assert ingest.requests[0].headers["X-API-Key"] == "k"
    out = capsys.readouterr().out.splitlines()
    assert out[0] == '401 {"error": "unauthorized", "message": "missing API key"}'
    assert out[1].startswith("202 ")


def test_loop_and_count_options() -> None:
    assert parse_args(["http://h:1"], {}).iterations == 1
    assert parse_args(["http://h:1", "--loop"], {}).iterations is None
    assert parse_args(["http://h:1", "--loop", "--count", "5"], {}).iterations == 5
    looped = parse_args(["http://h:1", "--loop", "--interval", "0.5"], {"PROVIDER_API_KEY": "k"})
    assert looped.interval == 0.5
    assert looped.api_key == Secret("k")
    assert parse_args(["http://h:1"], {}).api_key is None


# --- sample data --------------------------------------------------------------------------------


def test_sample_games_are_scheduled_on_the_hour_days_ahead() -> None:
    games = [convert(item, Game) for item in sample_games(NOW)]
    assert [game.game_id for game in games] == list(REFERENCE_GAME_IDS)
    assert [(game.home_team, game.away_team) for game in games] == [("England", "Hungary"), ("Germany", "Spain")]
    for game in games:
        assert (game.sport, game.name, game.venue, game.status) == (
            "soccer", "World Cup Qualifier", "Wembley Stadium", "scheduled",
        )
        assert game.game_date.minute == game.game_date.second == game.game_date.microsecond == 0
    assert [game.game_date for game in games] == [
        datetime(2026, 11, 26, 11, tzinfo=UTC),
        datetime(2026, 11, 27, 11, tzinfo=UTC),
    ]


def test_rounding_to_the_hour() -> None:
    assert on_the_hour(datetime(2026, 1, 1, 10, 29, 59, tzinfo=UTC)) == datetime(2026, 1, 1, 10, tzinfo=UTC)
    assert on_the_hour(datetime(2026, 1, 1, 23, 30, tzinfo=UTC)) == datetime(2026, 1, 2, 0, tzinfo=UTC)


async def test_sample_games_go_through_ingest(ingest: FakeIngest, capsys: pytest.CaptureFixture[str]) -> None:
    time = FakeTime()
    assert await load_games(ingest.url, Secret("k"), Timekeeper(time.now, time.sleep), NOW)
    [seen] = ingest.requests
    assert (seen.method, seen.path) == ("PUT", "/v1/games")
    assert seen.json() == {"games": sample_games(NOW)}
    assert "202" in capsys.readouterr().out


async def test_a_refused_game_load_is_reported(ingest: FakeIngest, capsys: pytest.CaptureFixture[str]) -> None:
    ingest.then(401, {"error": "unauthorized", "message": "unknown API key"})
    time = FakeTime()
    assert not await load_games(ingest.url, Secret("k"), Timekeeper(time.now, time.sleep), NOW)
    assert "HTTP 401" in capsys.readouterr().err


def test_a_client_item_keeps_its_first_created_time() -> None:
    arguments = client_update("sportsfeeds", "client-001", "cli-name1", 1_795_430_699)
    assert arguments["TableName"] == "sportsfeeds"
    assert arguments["Key"] == {"PK": {"S": "client-001"}, "SK": {"S": "client"}}
    names, values = arguments["ExpressionAttributeNames"], arguments["ExpressionAttributeValues"]
    assert sorted(names.values()) == ["ACTIVE", "CREATED", "NAME"]
    assert values == {":name": {"S": "cli-name1"}, ":active": {"S": "Y"}, ":created": {"N": "1795430699"}}
    assert "#created = if_not_exists(#created, :created)" in arguments["UpdateExpression"]
    assert arguments["ReturnValues"] == "UPDATED_OLD"


class ScriptedDynamoDB:
    """Answers UpdateItem with canned previous values and records the calls."""

    def __init__(self, *answers: dict[str, Any]) -> None:
        self.answers = list(answers)
        self.calls: list[dict[str, Any]] = []

    def update_item(self, **kwargs: Any) -> dict[str, Any]:
        self.calls.append(kwargs)
        return self.answers.pop(0)


@pytest.mark.parametrize(
    ("previous", "outcome"),
    [
        ({}, "created"),
        ({"Attributes": {"NAME": {"S": "cli-name1"}, "ACTIVE": {"S": "Y"}, "CREATED": {"N": "1"}}}, "unchanged"),
        ({"Attributes": {"NAME": {"S": "old"}, "ACTIVE": {"S": "N"}, "CREATED": {"N": "1"}}}, "updated"),
    ],
)
def test_writing_a_client_says_what_changed(previous: dict[str, Any], outcome: str) -> None:
    assert write_client(ScriptedDynamoDB(previous), "t", "client-001", "cli-name1", 5) == outcome


def test_both_sample_clients_are_written(capsys: pytest.CaptureFixture[str]) -> None:
    dynamodb = ScriptedDynamoDB({}, {})
    assert write_clients(dynamodb, "sportsfeeds", NOW)
    assert [call["Key"]["PK"]["S"] for call in dynamodb.calls] == ["client-001", "client-002"]
    assert [call["ExpressionAttributeValues"][":name"]["S"] for call in dynamodb.calls] == ["cli-name1", "cli-name2"]
    assert "client client-002 (cli-name2): created in table sportsfeeds" in capsys.readouterr().out


def test_dynamodb_settings_do_not_need_kafka() -> None:
    defaults = load_dynamo_settings({})
    assert (defaults.dynamodb_endpoint, defaults.dynamodb_table, defaults.aws_region) == (None, "sportsfeeds", "eu-west-1")
    local = load_dynamo_settings(
        {"DYNAMODB_ENDPOINT": "http://127.0.0.1:8000", "DYNAMODB_TABLE": "odds-test", "AWS_REGION": "us-east-1"}
    )
    assert (local.dynamodb_endpoint, local.dynamodb_table, local.aws_region) == (
        "http://127.0.0.1:8000", "odds-test", "us-east-1",
    )
    with pytest.raises(SettingsError, match="^DYNAMODB_ENDPOINT"):
        load_dynamo_settings({"DYNAMODB_ENDPOINT": "127.0.0.1:8000"})
    with pytest.raises(SettingsError, match="^DYNAMODB_TABLE"):
        load_dynamo_settings({"DYNAMODB_TABLE": "a#b"})
