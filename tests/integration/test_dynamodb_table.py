"""Against DynamoDB Local: the table from create-table serves every reference access pattern by Query."""

from __future__ import annotations

import subprocess
import sys
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from boto3.dynamodb.conditions import Attr, Key
from sportsfeed_common.events import Game, OddsUpdate
from sportsfeed_common.items import game_item, odds_item
from sportsfeed_common.table import ODDS_PREFIX, SCHEDULED_INDEX, create_table, odds_range

pytestmark = pytest.mark.integration

CREATED = datetime(2026, 11, 23, 12, tzinfo=UTC)
LOCAL_CREDENTIALS = {"region_name": "eu-west-1", "aws_access_key_id": "local", "aws_secret_access_key": "local"}


@pytest.fixture(scope="module")
def client(servers) -> Any:
    return boto3.client("dynamodb", endpoint_url=servers.dynamodb_endpoint, **LOCAL_CREDENTIALS)


@pytest.fixture(scope="module")
def table(servers, client) -> Iterator[Any]:
    name = f"it-{uuid.uuid4().hex[:8]}"
    create_table(client, name)
    resource = boto3.resource("dynamodb", endpoint_url=servers.dynamodb_endpoint, **LOCAL_CREDENTIALS)
    yield resource.Table(name)
    client.delete_table(TableName=name)


def test_create_table_twice_changes_nothing_the_second_time(client) -> None:
    name = f"it-{uuid.uuid4().hex[:8]}"
    first = create_table(client, name)
    assert (first.created, first.ttl_enabled) == (True, True)
    described = client.describe_table(TableName=name)["Table"]
    second = create_table(client, name)
    assert not second.changed
    again = client.describe_table(TableName=name)["Table"]
    assert again["CreationDateTime"] == described["CreationDateTime"]
    assert again["KeySchema"] == described["KeySchema"]
    assert [i["IndexName"] for i in again["GlobalSecondaryIndexes"]] == [SCHEDULED_INDEX]
    ttl = client.describe_time_to_live(TableName=name)["TimeToLiveDescription"]
    assert (ttl["TimeToLiveStatus"], ttl["AttributeName"]) == ("ENABLED", "EXPIRE")
    client.delete_table(TableName=name)


def test_the_create_table_command_is_idempotent(servers, client) -> None:
    name = f"it-{uuid.uuid4().hex[:8]}"
    env = {**servers.environment(), "DYNAMODB_TABLE": name, "PATH": "/usr/bin:/bin"}

    def run() -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "sportsfeed_common.admin", "create-table"],
            env=env, capture_output=True, text=True, timeout=120, check=False,
        )

    first, second = run(), run()
    assert first.returncode == 0 and second.returncode == 0, first.stderr + second.stderr
    assert first.stdout.strip() == f"table {name}: created; TTL enabled on EXPIRE"
    assert second.stdout.strip() == f"table {name}: exists; TTL already on EXPIRE"
    client.delete_table(TableName=name)


def game(game_id: str, kickoff: datetime, status: str = "scheduled") -> Game:
    return Game(
        game_id=game_id, sport="soccer", name="World Cup Qualifier", home_team="England",
        away_team="Hungary", venue="Wembley Stadium", game_date=kickoff, status=status,  # type: ignore[arg-type]
    )


def test_put_game_and_get_it_by_id(table) -> None:
    game_id = f"game-{uuid.uuid4()}"
    table.put_item(Item=game_item(game(game_id, CREATED + timedelta(days=3)), CREATED))
    found = table.query(KeyConditionExpression=Key("PK").eq(game_id) & Key("SK").begins_with("game-"))["Items"]
    assert len(found) == 1
    assert (found[0]["NAME"], found[0]["VENUE"], found[0]["ISSCHEDULED"]) == (
        "World Cup Qualifier", "Wembley Stadium", "Y",
    )


def test_scheduled_games_by_date_through_the_sparse_index(table) -> None:
    run = uuid.uuid4().hex[:8]
    base = datetime(2031, 1, 1, tzinfo=UTC)  # far from other tests' games
    kickoffs = {f"game-{run}-{n}": base + timedelta(days=n) for n in (3, 1, 2)}
    for game_id, kickoff in kickoffs.items():
        table.put_item(Item=game_item(game(game_id, kickoff), CREATED))
    table.put_item(Item=game_item(game(f"game-{run}-live", base + timedelta(days=1), "live"), CREATED))
    table.put_item(Item=game_item(game(f"game-{run}-late", base + timedelta(days=30)), CREATED))

    found = table.query(
        IndexName=SCHEDULED_INDEX,
        KeyConditionExpression=Key("ISSCHEDULED").eq("Y")
        & Key("GAMEDATE").between(int(base.timestamp()), int((base + timedelta(days=7)).timestamp())),
    )["Items"]
    assert [item["PK"] for item in found] == [f"game-{run}-1", f"game-{run}-2", f"game-{run}-3"]


def odds_at(game_id: str, ts: datetime, home_odds: int, provider: str = "acme") -> OddsUpdate:
    return OddsUpdate(
        provider=provider, game_id=game_id, market="spread", ts=ts,
        home=-3, away=2, home_odds=home_odds, away_odds=-110,
    )


def insert_in_batches(table, updates: list[OddsUpdate]) -> None:
    # BatchWriteItem in chunks of 25 with unprocessed items resent. DynamoDB refuses a whole batch
    # holding one key twice (the reference lost such batches), so duplicates collapse first.
    with table.batch_writer(overwrite_by_pkeys=["PK", "SK"]) as batch:
        for update in updates:
            batch.put_item(Item=odds_item(update, CREATED))


def test_latest_odds_of_a_game_descending_limit_one(table) -> None:
    game_id = f"game-{uuid.uuid4()}"
    table.put_item(Item=game_item(game(game_id, CREATED), CREATED))
    # Straddle the reference's bug: epoch 999999999 -> 1000000000 changes the digit count.
    moments = [datetime.fromtimestamp(t, UTC) for t in (999_999_998, 999_999_999, 1_000_000_000, 1_000_000_001)]
    insert_in_batches(table, [odds_at(game_id, moment, -120 - n) for n, moment in enumerate(moments)])

    latest = table.query(
        KeyConditionExpression=Key("PK").eq(game_id) & Key("SK").begins_with(ODDS_PREFIX),
        ScanIndexForward=False,
        Limit=1,
    )["Items"]
    assert len(latest) == 1
    assert latest[0]["TS"] == "2001-09-09T01:46:41.000Z"
    assert latest[0]["HOMEODDS"] == -123


def test_odds_of_a_game_in_a_time_range_sorted(table) -> None:
    game_id = f"game-{uuid.uuid4()}"
    start = datetime(2026, 11, 23, 18, 0, tzinfo=UTC)
    updates = [
        odds_at(game_id, start + timedelta(seconds=step), -110 - step, provider=provider)
        for step in range(60)
        for provider in ("acme", "betradar")
    ]
    insert_in_batches(table, list(reversed(updates)))  # stored out of order on purpose

    low, high = odds_range(start + timedelta(seconds=10), start + timedelta(seconds=19))
    found = table.query(KeyConditionExpression=Key("PK").eq(game_id) & Key("SK").between(low, high))["Items"]
    assert len(found) == 20
    assert [item["TS"] for item in found] == sorted(item["TS"] for item in found)
    assert found[0]["TS"] == "2026-11-23T18:00:10.000Z"
    assert found[-1]["TS"] == "2026-11-23T18:00:19.000Z"
    assert {item["PROVIDER"] for item in found} == {"acme", "betradar"}


def test_a_replayed_update_overwrites_the_same_item(table) -> None:
    game_id = f"game-{uuid.uuid4()}"
    update = odds_at(game_id, CREATED, -150)
    insert_in_batches(table, [update, update])
    insert_in_batches(table, [update])
    items = table.query(KeyConditionExpression=Key("PK").eq(game_id))["Items"]
    assert len(items) == 1
    assert items[0]["ID"] == update.id


def test_no_access_pattern_needs_a_scan(table) -> None:
    # Every read above is a Query on the table or GSI-1. This guards the index's sparseness,
    # which the scheduled-games pattern depends on: a live game must never appear in GSI-1.
    game_id = f"game-{uuid.uuid4()}"
    table.put_item(Item=game_item(game(game_id, CREATED, "live"), CREATED))
    found = table.query(
        IndexName=SCHEDULED_INDEX,
        KeyConditionExpression=Key("ISSCHEDULED").eq("Y"),
        FilterExpression=Attr("PK").eq(game_id),
    )["Items"]
    assert found == []
