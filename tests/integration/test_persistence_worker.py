"""The persistence worker as a real process against real Kafka and DynamoDB Local: it stores what
``odds.live`` carries, each sequenced update with the seq it was pushed with."""

from __future__ import annotations

import os
import subprocess
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiokafka import AIOKafkaProducer
from boto3.dynamodb.conditions import Key
from sportsfeed_common.events import Game, ImpliedProbabilities, LiveUpdate, OddsUpdate, Trace, encode
from sportsfeed_common.table import SCHEDULED_INDEX, provider_key
from sportsfeed_common.times import epoch_millis, iso_minute, minute_of
from sportsfeed_common.topics import (
    GAMES,
    NOT_LIVE_HEADER,
    ODDS_LIVE,
    UNCOUNTED_HEADER,
    create_topics,
    dead_letter,
)
from sportsfeed_devstack.config import free_port
from sportsfeed_devstack.waiting import wait_until_async

from ..kafka_watch import TopicWatch
from ..services import caught_up_group, spawn_service, stop_process
from ..tables import fresh_table, table_of

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def table_name() -> str:
    return f"it-{uuid.uuid4().hex[:8]}"


@pytest.fixture(scope="module")
async def table(servers, table_name: str) -> Any:
    await create_topics(servers.kafka_bootstrap)
    return table_of(fresh_table(servers, table_name))


async def worker_env(servers, table_name: str) -> dict[str, str]:
    """The worker handles only what the test itself produces (not the earlier tests' traffic)."""
    return {
        **os.environ, **servers.environment(),
        "DYNAMODB_TABLE": table_name,
        "CONSUMER_GROUP": await caught_up_group(servers.kafka_bootstrap, [ODDS_LIVE.name, GAMES.name]),
        "PORT": str(free_port()), "HOST": "127.0.0.1",
    }


def spawn_worker(env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    return spawn_service("sportsfeed_persistence.main", env, log)


@pytest.fixture(scope="module")
async def worker(servers, table, table_name: str, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Worker]:
    log = Path(tmp_path_factory.mktemp("persistence")) / "persistence.log"
    env = await worker_env(servers, table_name)
    process = spawn_worker(env, log)
    yield Worker(log, f"http://127.0.0.1:{env['PORT']}")
    stop_process(process)


@dataclass(frozen=True)
class Worker:
    log: Path
    url: str  # its HTTP side: /metrics


START = datetime.now(UTC) - timedelta(minutes=30)


def update(game: str, n: int, provider: str = "acme") -> OddsUpdate:
    received = datetime.now(UTC).replace(microsecond=0)
    return OddsUpdate(provider=provider, game_id=game, market="spread", ts=START + timedelta(milliseconds=n),
                      home_odds=-110 - n % 50, away_odds=100 + n % 50, received_at=received,
                      trace=Trace(ingested_at=epoch_millis(received)))


def updates(games: list[str], per_game: int) -> list[LiveUpdate]:
    """What the stream processor publishes: each game's updates with seqs 1, 2, ..."""
    return [
        LiveUpdate(**{name: getattr(u, name) for name in OddsUpdate.__struct_fields__}, seq=n + 1,
                   implied=ImpliedProbabilities(home=0.5, away=0.5), date=epoch_millis(u.received_at) // 1000)
        for n in range(per_game) for game in games for u in [update(game, n)]
    ]


def items_of(table: Any, game: str) -> list[dict[str, Any]]:
    return table.query(KeyConditionExpression=Key("PK").eq(game) & Key("SK").begins_with("odds-"))["Items"]


async def test_live_updates_are_stored_once_with_their_seq_and_poison_is_parked(servers, table, worker) -> None:
    games = [f"game-{uuid.uuid4()}" for _ in range(4)]
    batch = updates(games, 50)
    records = [(u.game_id.encode(), encode(u)) for u in batch]
    poison = [(b"game-poison", b"not json at all"), (b"game-poison", b'{"provider": "acme", "gameId": 1}')]
    records = records[:100] + poison + records[100:]

    async with TopicWatch(servers.kafka_bootstrap, dead_letter(ODDS_LIVE).name) as parked:
        await parked.mark()
        await produce_to(servers.kafka_bootstrap, ODDS_LIVE.name, records)

        async def all_stored() -> bool:
            return sum(len(items_of(table, game)) for game in games) == len(batch)

        await wait_until_async(all_stored, timeout=120, what="every update to be in DynamoDB", interval=0.5)
        items = [item for game in games for item in items_of(table, game)]
        assert sorted((item["ID"], item["SEQ"]) for item in items) == sorted((u.id, u.seq) for u in batch)
        sample = next(item for item in items if item["ID"] == batch[0].id)
        assert sample["HOMEODDS"] == -110 and sample["PROVIDER"] == "acme" and sample["MARKET"] == "spread"
        assert sample["EXPIRE"] == sample["CREATED"] + 365 * 86400

        async def parked_both() -> list:
            records = await parked.read()
            return records if len(records) >= 2 else []

        dead = await wait_until_async(parked_both, timeout=60, what="the poison messages in the DLQ")
        assert [r.value for r in dead] == [value for _, value in poison]
        headers = dict(dead[0].headers)
        assert headers["source-topic"] == b"odds.live" and b"malformed" in headers["error"]

    # How far storage trails the live stream is a metric: every stored update was observed.
    stored_count = await metric(worker.url, "sportsfeed_persistence_ingested_to_stored_seconds_count")
    assert stored_count >= len(batch)

    # A replay of the same messages rewrites the same items: nothing changes.
    before = sorted((i["SK"], i["CREATED"], i["EXPIRE"], i["HOMEODDS"], i["SEQ"]) for g in games for i in items_of(table, g))
    await produce_to(servers.kafka_bootstrap, ODDS_LIVE.name, records)

    async def replayed() -> bool:
        return await metric(worker.url, "sportsfeed_persistence_ingested_to_stored_seconds_count") >= stored_count + len(batch)

    await wait_until_async(replayed, timeout=120, what="the replay to go through", interval=0.5)
    after = sorted((i["SK"], i["CREATED"], i["EXPIRE"], i["HOMEODDS"], i["SEQ"]) for g in games for i in items_of(table, g))
    assert after == before


async def test_updates_that_were_not_new_are_stored_only_where_the_table_lacks_them(servers, table, worker) -> None:
    (game_id,) = [f"game-{uuid.uuid4()}"]
    sequenced = updates([game_id], 3)
    retry = not_new_copy(sequenced[1], home_odds=-999)  # the same update (same key), its seq not known
    late = update(game_id, -5)  # older than everything sequenced: never pushed, never stored before
    await produce_to(servers.kafka_bootstrap, ODDS_LIVE.name, [(game_id.encode(), encode(u)) for u in sequenced])
    await produce_to(servers.kafka_bootstrap, ODDS_LIVE.name, [(game_id.encode(), encode(retry)),
                                                              (game_id.encode(), encode(late))],
                     headers=[NOT_LIVE_HEADER])

    async def four_items() -> list[dict[str, Any]]:
        items = items_of(table, game_id)
        return items if len(items) == 4 else []

    items = {item["ID"]: item for item in await wait_until_async(four_items, timeout=60, what="the late update")}
    assert (items[retry.id]["SEQ"], items[retry.id]["HOMEODDS"]) == (2, sequenced[1].home_odds)
    assert "SEQ" not in items[late.id] and items[late.id]["HOMEODDS"] == late.home_odds


async def test_a_late_update_is_counted_once_in_its_providers_minute(servers, table, worker) -> None:
    """Late (older than a price already live, so never sequenced): the stream processor does not count
    it; persistence counts it when it stores it, once, whatever retries and replays bring."""
    game_id, provider = f"game-{uuid.uuid4()}", f"late-{uuid.uuid4().hex[:8]}"
    late = update(game_id, -5, provider)
    not_new = [(game_id.encode(), encode(late))]
    await produce_to(servers.kafka_bootstrap, ODDS_LIVE.name, not_new, headers=[NOT_LIVE_HEADER])

    def stored(count: int) -> Callable[[], Awaitable[bool]]:
        async def check() -> bool:
            return len(items_of(table, game_id)) == count
        return check

    await wait_until_async(stored(1), timeout=60, what="the late update")
    assert late_counts(table, provider) == {iso_minute(minute_of(late.ts)): 1}
    # The same update again (the provider's retry), then a later late one: only the new one counts.
    another = update(game_id, -3, provider)
    await produce_to(servers.kafka_bootstrap, ODDS_LIVE.name, not_new + [(game_id.encode(), encode(another))],
                     headers=[NOT_LIVE_HEADER])
    await wait_until_async(stored(2), timeout=60, what="the second late update")
    assert sum(late_counts(table, provider).values()) == 2


async def test_a_sequenced_update_the_processor_did_not_count_is_counted_once_with_its_seq(
        servers, table, worker) -> None:
    """Older than the processor's series horizon (UNCOUNTED_HEADER): stored with its seq and counted in its
    provider's and game's minute, once, however often it is replayed."""
    game_id, provider = f"game-{uuid.uuid4()}", f"old-{uuid.uuid4().hex[:8]}"
    old = update(game_id, 1, provider)
    live = LiveUpdate(**{name: getattr(old, name) for name in OddsUpdate.__struct_fields__}, seq=1,
                      implied=ImpliedProbabilities(home=0.5, away=0.5), date=epoch_millis(old.received_at) // 1000)
    record = [(game_id.encode(), encode(live))]
    await produce_to(servers.kafka_bootstrap, ODDS_LIVE.name, record, headers=[UNCOUNTED_HEADER])

    async def stored_and_counted() -> bool:
        return len(items_of(table, game_id)) == 1 and late_counts(table, provider) == {iso_minute(minute_of(old.ts)): 1}

    await wait_until_async(stored_and_counted, timeout=60, what="the update stored and counted")
    (item,) = items_of(table, game_id)
    assert item["SEQ"] == 1
    # A replay of the same record (a crash before the commit): gone through, and counted nothing.
    before = await metric(worker.url, "sportsfeed_persistence_ingested_to_stored_seconds_count")
    await produce_to(servers.kafka_bootstrap, ODDS_LIVE.name, record, headers=[UNCOUNTED_HEADER])

    async def replayed() -> bool:
        return await metric(worker.url, "sportsfeed_persistence_ingested_to_stored_seconds_count") > before

    await wait_until_async(replayed, timeout=60, what="the replay")
    assert late_counts(table, provider) == {iso_minute(minute_of(old.ts)): 1}


def late_counts(table: Any, provider: str) -> dict[str, int]:
    """The provider's count items, by minute: here only the late share (the processor counted nothing)."""
    items = table.query(KeyConditionExpression=Key("PK").eq(provider_key(provider)) & Key("SK").begins_with("count-"))
    return {item["MINUTE"]: int(item["COUNT"]) for item in items["Items"]}


def not_new_copy(live: LiveUpdate, **changes: Any) -> OddsUpdate:
    """The OddsUpdate inside a LiveUpdate, changed: what the processor passes on when it is not new."""
    fields = {name: getattr(live, name) for name in OddsUpdate.__struct_fields__}
    return OddsUpdate(**{**fields, **changes})


async def metric(url: str, name: str) -> float:
    async with aiohttp.ClientSession() as session, session.get(f"{url}/metrics") as response:
        text = await response.text()
    return sum(float(line.split()[-1]) for line in text.splitlines() if line.startswith(name + " "))


async def produce_to(bootstrap: str, topic: str, records: list[tuple[bytes, bytes]],
                     headers: list[tuple[str, bytes]] | None = None) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", enable_idempotence=True)
    await producer.start()
    try:
        for key, value in records:
            await producer.send_and_wait(topic, value, key=key, headers=headers)
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
    settings = fresh_table(servers)
    table_name = settings.dynamodb_table
    killed_table = table_of(settings)
    env = await worker_env(servers, table_name)  # one consumer group for both lives of the worker
    games = [f"game-{uuid.uuid4()}" for _ in range(5)]
    batch = updates(games, 300)
    log = tmp_path / "persistence.log"

    def count() -> int:
        return sum(len(items_of(killed_table, game)) for game in games)

    first = spawn_worker(env, log)
    try:
        await produce_to(servers.kafka_bootstrap, ODDS_LIVE.name, [(u.game_id.encode(), encode(u)) for u in batch])

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
