"""Against a real Kafka broker: topics come from create-topics, and messages keep per-game order."""

from __future__ import annotations

import subprocess
import sys
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType
from sportsfeed_common.events import OddsUpdate, decode, encode
from sportsfeed_common.topics import (
    ALL_TOPICS,
    GAMES,
    ODDS_RAW,
    TopicSpec,
    create_topics,
)

from ..kafka_watch import TopicWatch

pytestmark = pytest.mark.integration


async def describe(bootstrap: str, names: list[str]) -> dict[str, tuple[int, dict[str, str]]]:
    """Partition count and explicitly set configs of each topic, as the broker reports them."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        partitions = {t["topic"]: len(t["partitions"]) for t in await admin.describe_topics(names)}
        responses = await admin.describe_configs(
            [ConfigResource(ConfigResourceType.TOPIC, name) for name in names]
        )
        configs: dict[str, dict[str, str]] = {}
        for response in responses:
            for resource in response.resources:
                name, entries = resource[3], resource[4]
                configs[name] = {entry[0]: entry[1] for entry in entries if entry[0] == "cleanup.policy"}
        return {name: (partitions[name], configs[name]) for name in names}
    finally:
        await admin.close()


async def test_create_topics_creates_each_topic_once(servers) -> None:
    prefix = f"it-{uuid.uuid4().hex[:8]}"
    specs = tuple(TopicSpec(f"{prefix}.{t.name}", t.partitions, t.config) for t in ALL_TOPICS)
    names = [spec.name for spec in specs]

    first = await create_topics(servers.kafka_bootstrap, specs)
    assert sorted(first.created) == sorted(names)
    before = await describe(servers.kafka_bootstrap, names)

    second = await create_topics(servers.kafka_bootstrap, specs)
    assert second.created == []
    assert sorted(second.existing) == sorted(names)
    assert second.mismatched == {}
    assert await describe(servers.kafka_bootstrap, names) == before
    assert before[f"{prefix}.odds.raw"][0] == 12
    assert before[f"{prefix}.games"] == (3, {"cleanup.policy": "compact"})
    assert before[f"{prefix}.odds.raw.dlq"][0] == 1


def run_admin(servers, command: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "sportsfeed_common.admin", command],
        env={**servers.environment(), "PATH": "/usr/bin:/bin"},
        capture_output=True, text=True, timeout=120, check=False,
    )


async def test_the_create_topics_command_is_idempotent(servers) -> None:
    first = run_admin(servers, "create-topics")
    assert first.returncode == 0, first.stderr
    second = run_admin(servers, "create-topics")
    assert second.returncode == 0, second.stderr
    assert second.stdout.splitlines() == [f"topic {t.name}: exists" for t in ALL_TOPICS]
    described = await describe(servers.kafka_bootstrap, [t.name for t in ALL_TOPICS])
    assert {name: count for name, (count, _) in described.items()} == {t.name: t.partitions for t in ALL_TOPICS}


async def test_updates_round_trip_keyed_by_game_in_order(servers) -> None:
    assert run_admin(servers, "create-topics").returncode == 0
    run = uuid.uuid4().hex[:8]
    start = datetime(2026, 11, 23, 12, tzinfo=UTC)
    updates = [
        OddsUpdate(
            provider="acme", game_id=f"game-{run}-{game}", market="spread",
            ts=start + timedelta(milliseconds=step), home_odds=-110 - step, away_odds=100 + step,
        )
        for step in range(40)
        for game in ("a", "b", "c")
    ]
    async with TopicWatch(servers.kafka_bootstrap, ODDS_RAW.name) as watch:
        await watch.mark()  # only what this test sends: other tests fill the topic too
        producer = AIOKafkaProducer(
            bootstrap_servers=servers.kafka_bootstrap, acks="all", enable_idempotence=True
        )
        await producer.start()
        try:
            sent = [
                await producer.send_and_wait(ODDS_RAW.name, encode(update), key=update.game_id.encode())
                for update in updates
            ]
        finally:
            await producer.stop()
        records = await watch.read()
    partitions_by_game: dict[str, set[int]] = {}
    for update, metadata in zip(updates, sent, strict=True):
        partitions_by_game.setdefault(update.game_id, set()).add(metadata.partition)
    assert all(len(partitions) == 1 for partitions in partitions_by_game.values())

    received: list[OddsUpdate] = []
    for record in records:
        update = decode(record.value, OddsUpdate)
        if update.game_id.startswith(f"game-{run}-"):
            assert record.key == update.game_id.encode()
            received.append(update)
    for game in ("a", "b", "c"):
        game_id = f"game-{run}-{game}"
        assert [u for u in received if u.game_id == game_id] == [u for u in updates if u.game_id == game_id]


async def test_games_topic_is_compacted(servers) -> None:
    assert run_admin(servers, "create-topics").returncode == 0
    described = await describe(servers.kafka_bootstrap, [GAMES.name])
    assert described[GAMES.name] == (3, {"cleanup.policy": "compact"})
