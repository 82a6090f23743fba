"""The persistence worker as a real process against real Kafka and DynamoDB Local."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest
from aiokafka import AIOKafkaProducer
from boto3.dynamodb.conditions import Key
from sportsfeed_common.aws import dynamodb_client_kwargs
from sportsfeed_common.events import (
    Game,
    OddsUpdate,
    Trace,
    decode,
    encode,
    epoch_millis,
)
from sportsfeed_common.settings import CommonSettings, load_settings
from sportsfeed_common.table import SCHEDULED_INDEX, create_table
from sportsfeed_common.topics import (
    GAMES,
    ODDS_RAW,
    ODDS_STORED,
    create_topics,
    dead_letter,
)
from sportsfeed_devstack.config import free_port
from sportsfeed_devstack.waiting import wait_until_async

from ..kafka_watch import TopicWatch
from ..services import caught_up_group, stop_process

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def table_name() -> str:
    return f"it-{uuid.uuid4().hex[:8]}"


@pytest.fixture(scope="module")
async def table(servers, table_name: str) -> Any:
    await create_topics(servers.kafka_bootstrap)
    settings = load_settings(CommonSettings, {**servers.environment(), "DYNAMODB_TABLE": table_name})
    create_table(boto3.client("dynamodb", **dynamodb_client_kwargs(settings)), table_name)
    return boto3.resource("dynamodb", **dynamodb_client_kwargs(settings)).Table(table_name)


async def worker_env(servers, table_name: str) -> dict[str, str]:
    """The worker handles only what the test itself produces (not the earlier tests' traffic)."""
    return {
        **os.environ, **servers.environment(),
        "DYNAMODB_TABLE": table_name,
        "CONSUMER_GROUP": await caught_up_group(servers.kafka_bootstrap, [ODDS_RAW.name, GAMES.name]),
        "PORT": str(free_port()), "HOST": "127.0.0.1",
    }


def spawn_worker(env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with open(log, "ab") as output:
        return subprocess.Popen([sys.executable, "-m", "sportsfeed_persistence.main"], env=env,
                                stdout=output, stderr=subprocess.STDOUT)


@pytest.fixture(scope="module")
async def worker(servers, table, table_name: str, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Path]:
    log = Path(tmp_path_factory.mktemp("persistence")) / "persistence.log"
    process = spawn_worker(await worker_env(servers, table_name), log)
    yield log
    stop_process(process)


def updates(games: list[str], per_game: int) -> list[OddsUpdate]:
    start = datetime.now(UTC) - timedelta(minutes=30)
    received = datetime.now(UTC).replace(microsecond=0)
    return [
        OddsUpdate(provider="acme", game_id=game, market="spread", ts=start + timedelta(milliseconds=n),
                   home_odds=-110 - n % 50, away_odds=100 + n % 50, received_at=received,
                   trace=Trace(ingested_at=epoch_millis(received)))
        for n in range(per_game) for game in games
    ]


def items_of(table: Any, game: str) -> list[dict[str, Any]]:
    return table.query(KeyConditionExpression=Key("PK").eq(game) & Key("SK").begins_with("odds-"))["Items"]


async def test_updates_are_stored_once_published_and_poison_is_parked(servers, table, worker) -> None:
    games = [f"game-{uuid.uuid4()}" for _ in range(4)]
    batch = updates(games, 50)
    records = [(u.game_id.encode(), encode(u)) for u in batch]
    poison = [(b"game-poison", b"not json at all"), (b"game-poison", b'{"provider": "acme", "gameId": 1}')]
    records = records[:100] + poison + records[100:]

    async with TopicWatch(servers.kafka_bootstrap, ODDS_STORED.name) as stored, \
            TopicWatch(servers.kafka_bootstrap, dead_letter(ODDS_RAW).name) as parked:
        await stored.mark()
        await parked.mark()
        await produce_to(servers.kafka_bootstrap, ODDS_RAW.name, records)

        async def all_stored() -> bool:
            return sum(len(items_of(table, game)) for game in games) == len(batch)

        await wait_until_async(all_stored, timeout=120, what="every update to be in DynamoDB", interval=0.5)
        items = [item for game in games for item in items_of(table, game)]
        assert sorted(item["ID"] for item in items) == sorted(u.id for u in batch)
        sample = next(item for item in items if item["ID"] == batch[0].id)
        assert sample["HOMEODDS"] == -110 and sample["PROVIDER"] == "acme" and sample["MARKET"] == "spread"
        assert sample["EXPIRE"] == sample["CREATED"] + 365 * 86400

        async def published() -> list:
            records = [r for r in await stored.read() if r.key.decode() in games]
            return records if len(records) >= len(batch) else []

        out = await wait_until_async(published, timeout=60, what="odds.stored to carry every update")
        republished = [decode(r.value, OddsUpdate) for r in out]
        assert sorted(u.id for u in republished) == sorted(u.id for u in batch)
        assert all(u.trace.stored_at is not None and u.trace.stored_at >= u.trace.ingested_at for u in republished)

        async def parked_both() -> list:
            records = await parked.read()
            return records if len(records) >= 2 else []

        dead = await wait_until_async(parked_both, timeout=60, what="the poison messages in the DLQ")
        assert [r.value for r in dead] == [value for _, value in poison]
        headers = dict(dead[0].headers)
        assert headers["source-topic"] == b"odds.raw" and b"malformed" in headers["error"]

    # A replay of the same messages rewrites the same items: nothing changes.
    before = sorted((i["SK"], i["CREATED"], i["EXPIRE"], i["HOMEODDS"]) for g in games for i in items_of(table, g))
    async with TopicWatch(servers.kafka_bootstrap, ODDS_STORED.name) as stored:
        await stored.mark()
        await produce_to(servers.kafka_bootstrap, ODDS_RAW.name, records)

        async def replayed() -> bool:
            return len([r for r in await stored.read() if r.key.decode() in games]) >= len(batch)

        await wait_until_async(replayed, timeout=120, what="the replay to go through", interval=0.5)
    after = sorted((i["SK"], i["CREATED"], i["EXPIRE"], i["HOMEODDS"]) for g in games for i in items_of(table, g))
    assert after == before


async def produce_to(bootstrap: str, topic: str, records: list[tuple[bytes, bytes]]) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", enable_idempotence=True)
    await producer.start()
    try:
        for key, value in records:
            await producer.send_and_wait(topic, value, key=key)
    finally:
        await producer.stop()


def game(game_id: str, status: str, kickoff: datetime) -> Game:
    return Game(game_id=game_id, sport="soccer", name="World Cup Qualifier", home_team="England",
                away_team="Hungary", venue="Wembley Stadium", game_date=kickoff, status=status)  # type: ignore[arg-type]


async def test_games_are_stored_and_only_scheduled_ones_are_in_the_scheduled_index(servers, table, worker) -> None:
    kickoff = datetime(2032, 6, 1, 19, tzinfo=UTC) + timedelta(minutes=uuid.uuid4().int % 10_000)
    scheduled, live = f"game-{uuid.uuid4()}", f"game-{uuid.uuid4()}"
    invalid = (b"game-bad", b'{"gameId": "game-bad", "sport": "soccer"}')

    def scheduled_ids() -> set[str]:
        found = table.query(
            IndexName=SCHEDULED_INDEX,
            KeyConditionExpression=Key("ISSCHEDULED").eq("Y") & Key("GAMEDATE").eq(int(kickoff.timestamp())),
        )["Items"]
        return {item["PK"] for item in found}

    async with TopicWatch(servers.kafka_bootstrap, dead_letter(GAMES).name) as parked:
        await parked.mark()
        await produce_to(servers.kafka_bootstrap, GAMES.name, [
            (scheduled.encode(), encode(game(scheduled, "scheduled", kickoff))),
            invalid,
            (live.encode(), encode(game(live, "live", kickoff))),
        ])

        async def both_stored() -> bool:
            return all(table.query(KeyConditionExpression=Key("PK").eq(g))["Items"] for g in (scheduled, live))

        produced_around = datetime.now(UTC).timestamp()
        await wait_until_async(both_stored, timeout=60, what="both games in DynamoDB", interval=0.5)
        assert scheduled_ids() == {scheduled}
        # CREATED is the Kafka record's time (epoch seconds), so a replay rewrites the same item.
        created = table.query(KeyConditionExpression=Key("PK").eq(live))["Items"][0]["CREATED"]
        assert abs(int(created) - produced_around) < 120

        async def parked_one() -> list:
            return await parked.read()

        dead = await wait_until_async(parked_one, timeout=60, what="the invalid game in games.dlq")
        assert dead[0].value == invalid[1] and dict(dead[0].headers)["source-topic"] == b"games"

    # The game kicks off: its item is replaced and leaves the sparse index.
    await produce_to(servers.kafka_bootstrap, GAMES.name, [(scheduled.encode(), encode(game(scheduled, "live", kickoff)))])

    async def left_index() -> bool:
        return scheduled_ids() == set()

    await wait_until_async(left_index, timeout=60, what="the game to leave the scheduled index", interval=0.5)
    item = table.query(KeyConditionExpression=Key("PK").eq(scheduled))["Items"][0]
    assert (item["STATUS"], item["SK"], "ISSCHEDULED" in item) == ("live", "game-soccer", False)


async def test_kill_9_mid_stream_then_restart_loses_nothing(servers, tmp_path: Path) -> None:
    table_name = f"it-{uuid.uuid4().hex[:8]}"
    settings = load_settings(CommonSettings, {**servers.environment(), "DYNAMODB_TABLE": table_name})
    create_table(boto3.client("dynamodb", **dynamodb_client_kwargs(settings)), table_name)
    killed_table = boto3.resource("dynamodb", **dynamodb_client_kwargs(settings)).Table(table_name)
    env = await worker_env(servers, table_name)  # one consumer group for both lives of the worker
    games = [f"game-{uuid.uuid4()}" for _ in range(5)]
    batch = updates(games, 300)
    log = tmp_path / "persistence.log"

    def count() -> int:
        return sum(len(items_of(killed_table, game)) for game in games)

    first = spawn_worker(env, log)
    try:
        await produce_to(servers.kafka_bootstrap, ODDS_RAW.name, [(u.game_id.encode(), encode(u)) for u in batch])

        async def mid_stream() -> bool:
            return count() >= 100

        await wait_until_async(mid_stream, timeout=120, what="the worker to be mid-stream", interval=0.2)
    finally:
        first.kill()  # SIGKILL: no shutdown, no final commit
        first.wait()
    assert count() < len(batch), "the worker finished before it could be killed mid-stream"

    second = spawn_worker(env, log)
    try:
        async def all_stored() -> bool:
            return count() == len(batch)

        await wait_until_async(all_stored, timeout=120, what="every update after the restart", interval=0.5)
    finally:
        stop_process(second)
    ids = [item["ID"] for game in games for item in items_of(killed_table, game)]
    assert sorted(ids) == sorted(u.id for u in batch)  # each exactly once, none missing
