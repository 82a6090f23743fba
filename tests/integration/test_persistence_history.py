"""The read side against DynamoDB Local: each history access pattern by Query, with pages and cursors."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import aioboto3
import pytest
from sportsfeed_common.aws import dynamodb_client_kwargs
from sportsfeed_common.batch_writer import BatchWriter
from sportsfeed_common.events import Game, OddsUpdate
from sportsfeed_common.items import game_item, odds_item
from sportsfeed_common.settings import CommonSettings
from sportsfeed_persistence.history import History, InvalidQuery, encode_cursor

from ..tables import fresh_table

pytestmark = pytest.mark.integration

NOW = datetime(2026, 11, 23, 12, tzinfo=UTC)


@pytest.fixture(scope="module")
def settings(servers) -> CommonSettings:
    return fresh_table(servers)


@pytest.fixture
async def client(settings: CommonSettings) -> AsyncIterator[Any]:
    async with aioboto3.Session().client("dynamodb", **dynamodb_client_kwargs(settings)) as dynamodb:
        yield dynamodb


def game(game_id: str, kickoff: datetime, status: str = "scheduled") -> Game:
    return Game(game_id=game_id, sport="soccer", name="World Cup Qualifier", home_team="England",
                away_team="Hungary", game_date=kickoff, status=status)  # type: ignore[arg-type]


def odds(game_id: str, ts: datetime, home_odds: int, provider: str = "acme") -> OddsUpdate:
    return OddsUpdate(provider=provider, game_id=game_id, market="spread", ts=ts, home=-3.5, away=3.5,
                      home_odds=home_odds, away_odds=-110)


async def test_game_by_id_and_unknown_game(settings, client) -> None:
    game_id = f"game-{uuid.uuid4()}"
    await BatchWriter(client, settings.dynamodb_table).write([game_item(game(game_id, NOW), NOW)])
    history = History(client, settings.dynamodb_table)
    found = await history.game(game_id)
    assert found is not None and (found["NAME"], found["ISSCHEDULED"], found["GAMEDATE"]) == (
        "World Cup Qualifier", "Y", int(NOW.timestamp()),
    )
    assert await history.game(f"game-{uuid.uuid4()}") is None


async def test_latest_odds_and_a_time_range_paged_in_order(settings, client) -> None:
    game_id = f"game-{uuid.uuid4()}"
    start = NOW - timedelta(minutes=10)
    updates = [odds(game_id, start + timedelta(seconds=n), -110 - n, provider) for n in range(50)
               for provider in ("acme", "betradar")]
    await BatchWriter(client, settings.dynamodb_table).write([odds_item(u, NOW) for u in reversed(updates)])
    history = History(client, settings.dynamodb_table)

    latest = await history.latest_odds(game_id)
    assert latest is not None and latest["TS"] == "2026-11-23T11:50:49.000Z" and latest["HOMEODDS"] == -159
    assert await history.latest_odds(f"game-{uuid.uuid4()}") is None

    pages, cursor = [], None
    while True:
        page = await history.odds(game_id, start + timedelta(seconds=10), start + timedelta(seconds=39),
                                  limit=7, cursor=cursor)
        pages.append(page.items)
        cursor = page.next_cursor
        if cursor is None:
            break
    seen = [item for items in pages for item in items]
    assert all(len(items) <= 7 for items in pages) and len(pages) >= 9
    assert len(seen) == 60 and len({item["ID"] for item in seen}) == 60
    assert [item["TS"] for item in seen] == sorted(item["TS"] for item in seen)
    assert seen[0]["TS"] == "2026-11-23T11:50:10.000Z" and seen[-1]["TS"] == "2026-11-23T11:50:39.000Z"
    assert isinstance(seen[0]["HOME"], float) and isinstance(seen[0]["HOMEODDS"], int)


async def test_scheduled_games_by_date_through_the_index(settings, client) -> None:
    base = datetime(2033, 3, 1, tzinfo=UTC) + timedelta(days=uuid.uuid4().int % 1000)
    ids = [f"game-{uuid.uuid4()}" for _ in range(5)]
    items = [game_item(game(game_id, base + timedelta(hours=n)), NOW) for n, game_id in enumerate(ids)]
    items.append(game_item(game(f"game-{uuid.uuid4()}", base + timedelta(hours=1), "live"), NOW))
    await BatchWriter(client, settings.dynamodb_table).write(items)
    history = History(client, settings.dynamodb_table)
    first = await history.scheduled_games(base, base + timedelta(hours=4), limit=3)
    second = await history.scheduled_games(base, base + timedelta(hours=4), limit=3, cursor=first.next_cursor)
    assert [g["PK"] for g in first.items + second.items] == ids


@pytest.mark.parametrize(
    ("arguments", "field"),
    [
        ({"limit": 0}, "limit"),
        ({"limit": 1001}, "limit"),
        ({"cursor": "not-a-cursor!"}, "cursor"),
        ({"cursor": encode_cursor({"PK": {"S": "game-someone-else"}, "SK": {"S": "odds-x"}})}, "cursor"),
        ({"cursor": encode_cursor({"PK": {"BOOL": True}})}, "cursor"),
    ],
)
async def test_bad_parameters_are_refused_by_name(settings, client, arguments: dict, field: str) -> None:
    history = History(client, settings.dynamodb_table)
    with pytest.raises(InvalidQuery) as refused:
        await history.odds("game-1", NOW - timedelta(hours=1), NOW, **arguments)
    assert refused.value.field == field


async def test_a_reversed_range_is_refused(settings, client) -> None:
    with pytest.raises(InvalidQuery) as refused:
        await History(client, settings.dynamodb_table).odds("game-1", NOW, NOW - timedelta(hours=1))
    assert refused.value.field == "from"
