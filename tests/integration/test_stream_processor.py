"""The stream processor as a real process against real Kafka and DynamoDB Local.

Updates are produced to odds.raw exactly as ingest publishes them;
what comes out on odds.live and odds.alerts, and what lands in DynamoDB, is
checked against a recomputation from the input.
"""

from __future__ import annotations

import os
import subprocess
import urllib.request
import uuid
from collections import Counter, defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from boto3.dynamodb.conditions import Key
from sportsfeed_common import topics
from sportsfeed_common.events import (
    Alert,
    Game,
    LiveUpdate,
    OddsUpdate,
    StaleAlert,
    Trace,
    decode,
    decode_alert,
    encode,
)
from sportsfeed_common.table import provider_key
from sportsfeed_common.times import epoch_millis, iso_minute
from sportsfeed_common.topics import (
    GAMES,
    ODDS_ALERTS,
    ODDS_LIVE,
    ODDS_RAW,
    PROVIDER_ACTIVITY,
    create_topics,
)
from sportsfeed_devstack.config import free_port
from sportsfeed_devstack.waiting import WaitTimeout, wait_until_async

from ..kafka_watch import TopicWatch, produce
from ..services import caught_up_group, spawn_service, stop_process
from ..tables import fresh_table, table_of

pytestmark = pytest.mark.integration

STALE_AFTER_SECONDS = 2.0
PROVIDER_DOWN_AFTER_SECONDS = 2.0


async def processor_env(servers) -> tuple[dict[str, str], Any]:
    """A fresh table and consumer group (and so fresh changelog tables): only this test's input counts."""
    await create_topics(servers.kafka_bootstrap)
    settings = fresh_table(servers)
    table_name = settings.dynamodb_table
    group = await caught_up_group(servers.kafka_bootstrap, [ODDS_RAW.name, PROVIDER_ACTIVITY.name])
    env = {
        **os.environ, **servers.environment(),
        "DYNAMODB_TABLE": table_name, "CONSUMER_GROUP": group,
        "HOST": "127.0.0.1", "PORT": str(free_port()),
        "STALE_AFTER_SECONDS": str(STALE_AFTER_SECONDS),
        "PROVIDER_DOWN_AFTER_SECONDS": str(PROVIDER_DOWN_AFTER_SECONDS),
        "CHECK_INTERVAL_SECONDS": "0.2", "SERIES_WRITE_INTERVAL_SECONDS": "0.2", "CONSUMER_GROUP_INSTANCE_ID": "processor-0",
    }
    return env, table_of(settings)


def spawn(env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    return spawn_service("sportsfeed_stream_processor.main", env, log, f"http://127.0.0.1:{env['PORT']}", timeout=90)


def accepted_updates(games: list[str], per_game: int, providers: tuple[str, ...] = ("acme",)) -> list[OddsUpdate]:
    """As persistence publishes them: receivedAt and the trace stamps set; prices that move."""
    start = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(minutes=5)
    stamp = epoch_millis(datetime.now(UTC))
    return [
        OddsUpdate(provider=providers[n % len(providers)], game_id=game, market=("spread", "total")[n % 2],
                   ts=start + timedelta(milliseconds=250 * n), home_odds=-105 - (n * 7) % 60,
                   away_odds=100 + (n * 13) % 50, received_at=start + timedelta(seconds=n),
                   trace=Trace(ingested_at=stamp))
        for n in range(per_game) for game in games
    ]


def check_sequences(live: list[LiveUpdate], sent: list[OddsUpdate]) -> None:
    """seq 1..n per game, no gap; one seq per update id and one id per seq; in the order sent.

    A record may appear twice after a crash (the same seq for the same id, republished on replay):
    consumers drop a seq they already have, so only distinct (seq, id) pairs count.
    """
    pairs: dict[str, set[tuple[int, str]]] = defaultdict(set)
    for update in live:
        pairs[update.game_id].add((update.seq, update.id))
    sent_ids: dict[str, list[str]] = defaultdict(list)
    for update in sent:
        sent_ids[update.game_id].append(update.id)
    assert set(pairs) == set(sent_ids)
    for game, seen in pairs.items():
        ordered = sorted(seen)
        assert [seq for seq, _ in ordered] == list(range(1, len(sent_ids[game]) + 1)), f"{game}: gap or duplicate seq"
        assert [update_id for _, update_id in ordered] == sent_ids[game], f"{game}: seq not in the order sent"


def expected_series(sent: list[OddsUpdate]) -> tuple[dict[tuple[str, str, str, str], tuple],
                                                     dict[tuple[str, str], int]]:
    candles: dict[tuple[str, str, str, str], list[OddsUpdate]] = defaultdict(list)
    counts: Counter[tuple[str, str]] = Counter()
    for update in sent:
        minute = iso_minute(update.ts)
        candles[(update.game_id, update.market, update.provider, minute)].append(update)
        counts[(update.provider, minute)] += 1
    summary = {
        key: (len(group), group[0].home_odds, max(u.home_odds for u in group), min(u.home_odds for u in group),
              group[-1].home_odds, group[0].away_odds, group[-1].away_odds)
        for key, group in candles.items()
    }
    return summary, dict(counts)


def stored_series(table: Any, games: list[str], providers: tuple[str, ...]) -> tuple[dict, dict]:
    candles = {}
    for game in games:
        for item in table.query(KeyConditionExpression=Key("PK").eq(game) & Key("SK").begins_with("candle-"))["Items"]:
            candles[(game, item["MARKET"], item["PROVIDER"], item["MINUTE"])] = (
                int(item["COUNT"]), item["HOMEOPEN"], item["HOMEHIGH"], item["HOMELOW"], item["HOMECLOSE"],
                item["AWAYOPEN"], item["AWAYCLOSE"])
    counts: Counter[tuple[str, str]] = Counter()
    for provider in providers:
        for item in table.query(KeyConditionExpression=Key("PK").eq(provider_key(provider)))["Items"]:
            counts[(provider, item["MINUTE"])] += int(item["COUNT"])
    return candles, dict(counts)


def processor_counters(env: dict[str, str]) -> str:
    """The processor's own account (for a failure message)."""
    with urllib.request.urlopen(f"http://127.0.0.1:{env['PORT']}/metrics", timeout=5) as response:
        lines = response.read().decode().splitlines()
    return "\n".join(line for line in lines if line.startswith("sportsfeed_processor_") and "_created" not in line
                     and "_bucket" not in line)


async def read_live(watch: TopicWatch, games: set[str], expected: int, timeout: float) -> list[LiveUpdate]:
    async def enough() -> list[LiveUpdate] | None:
        live = [decode(r.value, LiveUpdate) for r in await watch.read()
                if r.key.decode() in games and topics.NOT_LIVE_HEADER not in r.headers]
        return live if len({(u.game_id, u.seq) for u in live}) >= expected else None

    return await wait_until_async(enough, timeout=timeout, what=f"{expected} sequenced updates on odds.live",
                                  interval=0.5)


async def read_not_live(watch: TopicWatch, games: set[str], expected: int, timeout: float) -> list[bytes]:
    async def enough() -> list[bytes] | None:
        values = [r.value for r in await watch.read()
                  if r.key.decode() in games and topics.NOT_LIVE_HEADER in r.headers]
        return values if len(values) >= expected else None

    return await wait_until_async(enough, timeout=timeout, what=f"{expected} not-live records on odds.live",
                                  interval=0.5)


async def test_ten_thousand_updates_over_fifty_games_gap_free_with_exact_candles_and_counts(
        servers, tmp_path: Path) -> None:
    env, table = await processor_env(servers)
    games = [f"game-{uuid.uuid4()}" for _ in range(50)]
    providers = ("acme", f"p{uuid.uuid4().hex[:8]}")
    sent = accepted_updates(games, 200, providers)
    assert len(sent) == 10_000
    process = spawn(env, tmp_path / "processor.log")
    try:
        async with TopicWatch(servers.kafka_bootstrap, ODDS_LIVE.name) as watch, \
                TopicWatch(servers.kafka_bootstrap, topics.dead_letter(ODDS_RAW).name) as parked:
            await watch.mark()
            await parked.mark()
            # Twice: every update a second time, as a replay or a provider's retry would bring it.
            records = [(u.game_id.encode(), encode(u)) for u in sent]
            poison = (games[0].encode(), b'{"provider": "acme", "gameId": 1}')
            await produce(servers.kafka_bootstrap, ODDS_RAW.name, records[:5000] + [poison] + records[5000:]
                          + records[:2000])
            live = await read_live(watch, set(games), len(sent), timeout=180)
            not_live = await read_not_live(watch, set(games), 2000, timeout=60)
            dead = await wait_until_async(parked.read, timeout=60, what="the undecodable update in odds.raw.dlq")
        assert [record.value for record in dead] == [poison[1]]
        headers = dict(dead[0].headers)  # the one header contract of every dead-letter topic
        assert headers.keys() == {"error", "source-topic", "source-partition", "source-offset", "parked-at"}
        assert headers["source-topic"] == b"odds.raw" and b"gameId" in headers["error"]
        check_sequences(live, sent)
        assert len(live) == len(sent)  # no crash here, so not even a republished record
        assert all(u.trace.processed_at and u.trace.ingested_at for u in live)
        # The repeats got no seq: passed on as they came, for persistence to store where it lacks them.
        assert sorted(not_live) == sorted(value for _, value in records[:2000])

        await wait_until_async(series_match(table, games, providers, sent), timeout=60, interval=1,
                               what="candles and counts in DynamoDB equal to a recomputation")
    finally:
        stop_process(process)


async def test_an_update_older_than_the_series_horizon_goes_live_marked_for_persistence_to_count(
        servers, tmp_path: Path) -> None:
    env, _ = await processor_env(servers)
    game = f"game-{uuid.uuid4()}"
    now = datetime.now(UTC)
    recent, old = (OddsUpdate(provider="acme", game_id=game, market=market, ts=ts, home_odds=-110, away_odds=100,
                              received_at=now, trace=Trace(ingested_at=epoch_millis(now)))
                   for market, ts in (("spread", now), ("total", now - timedelta(minutes=30))))
    process = spawn(env, tmp_path / "processor.log")
    try:
        async with TopicWatch(servers.kafka_bootstrap, ODDS_LIVE.name) as watch:
            await watch.mark()
            await produce(servers.kafka_bootstrap, ODDS_RAW.name, [(game.encode(), encode(u)) for u in (recent, old)])

            async def both() -> list[Any] | None:
                records = [r for r in await watch.read() if r.key.decode() == game]
                return records if len(records) == 2 else None

            records = await wait_until_async(both, timeout=60, what="both updates on odds.live")
    finally:
        stop_process(process)
    marked = {decode(r.value, LiveUpdate).market: topics.UNCOUNTED_HEADER in r.headers for r in records}
    assert marked == {"spread": False, "total": True}  # live both; only the recent one is in the series


def series_match(table: Any, games: list[str], providers: tuple[str, ...], sent: list[OddsUpdate]) -> Any:
    expected = expected_series(sent)

    async def equal() -> bool:
        return stored_series(table, games, providers) == expected

    return equal


async def test_kill_9_mid_stream_then_restart_continues_seq_and_keeps_counts_exact(servers, tmp_path: Path) -> None:
    env, table = await processor_env(servers)  # one consumer group for both lives of the processor
    games = [f"game-{uuid.uuid4()}" for _ in range(20)]
    providers = (f"p{uuid.uuid4().hex[:8]}",)
    sent = accepted_updates(games, 200, providers)
    log = tmp_path / "processor.log"
    records = [(u.game_id.encode(), encode(u)) for u in sent]
    chunk = 400
    async with TopicWatch(servers.kafka_bootstrap, ODDS_LIVE.name) as watch:
        await watch.mark()
        first = spawn(env, log)
        try:
            # In step with the processor for three chunks, then a fourth is produced and the
            # processor killed at once: it dies while that chunk is in flight.
            for done in range(chunk, 4 * chunk, chunk):
                await produce(servers.kafka_bootstrap, ODDS_RAW.name, records[done - chunk:done])
                await read_live(watch, set(games), done, timeout=120)
            await produce(servers.kafka_bootstrap, ODDS_RAW.name, records[3 * chunk:4 * chunk])
        finally:
            first.kill()  # SIGKILL: no shutdown, no final commit, no changelog flush
            first.wait()
        # The rest arrives while it is down.
        await produce(servers.kafka_bootstrap, ODDS_RAW.name, records[4 * chunk:])
        second = spawn(env, log)
        try:
            try:
                live = await read_live(watch, set(games), len(sent), timeout=180)
            except WaitTimeout as timeout:
                raise AssertionError(f"{timeout}; the processor's counters:\n{processor_counters(env)}") from None
            check_sequences(live, sent)
            await wait_until_async(series_match(table, games, providers, sent), timeout=60, interval=1,
                                   what="candles and counts exact after the restart")
        finally:
            stop_process(second)


async def test_stale_and_provider_down_fire_in_time_and_clear_when_updates_resume(servers, tmp_path: Path) -> None:
    env, _ = await processor_env(servers)
    game, provider = f"game-{uuid.uuid4()}", f"p{uuid.uuid4().hex[:8]}"
    process = spawn(env, tmp_path / "processor.log")
    try:
        async with TopicWatch(servers.kafka_bootstrap, ODDS_ALERTS.name) as alerts:
            await alerts.mark()
            details = Game(game_id=game, sport="soccer", name="England v Hungary", home_team="England",
                           away_team="Hungary", game_date=datetime.now(UTC), status="live")
            await produce(servers.kafka_bootstrap, GAMES.name, [(game.encode(), encode(details))])

            def update(n: int) -> OddsUpdate:
                return OddsUpdate(provider=provider, game_id=game, market="spread",
                                  ts=datetime.now(UTC) - timedelta(seconds=10 - n), home_odds=-110, away_odds=-110)

            async def mine(kind: str, cleared: bool | None = None) -> list[Alert]:
                found = [decode_alert(r.value) for r in await alerts.read()]
                return [a for a in found if a.kind == kind and (a.game_id == game or a.provider == provider)
                        and (cleared is None or isinstance(a, StaleAlert) and a.details.cleared == cleared)]

            await produce(servers.kafka_bootstrap, ODDS_RAW.name, [(game.encode(), encode(update(0)))])
            [stale] = await wait_until_async(lambda: mine("stale", cleared=False), timeout=30, what="a stale alert")
            [down] = await wait_until_async(lambda: mine("provider_down"), timeout=30, what="a provider_down alert")
            # Raised within twice the configured interval of the last update, by the processor's clock.
            quiet = stale.at - datetime.fromisoformat(stale.details.last_update_at)
            assert timedelta(seconds=STALE_AFTER_SECONDS) <= quiet <= timedelta(seconds=2 * STALE_AFTER_SECONDS)
            quiet = down.at - datetime.fromisoformat(down.details.last_seen_at)
            assert timedelta(seconds=PROVIDER_DOWN_AFTER_SECONDS) <= quiet <= timedelta(
                seconds=2 * PROVIDER_DOWN_AFTER_SECONDS)

            await produce(servers.kafka_bootstrap, ODDS_RAW.name, [(game.encode(), encode(update(1)))])
            await wait_until_async(lambda: mine("stale", cleared=True), timeout=30, what="the stale alert cleared")
            await wait_until_async(lambda: mine("provider_up"), timeout=30, what="a provider_up alert")
            assert len(await mine("stale", cleared=False)) == 1 and len(await mine("provider_down")) == 1
    finally:
        stop_process(process)

