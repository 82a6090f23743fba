"""Kafka stops under ingest: 503s, never a 202 for something not on the topic; Kafka back: 202s again.

Uses a broker of its own (the session's is shared with other tests), stopped
and restarted through the launcher with its data kept.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sportsfeed_common.events import OddsUpdate, decode
from sportsfeed_common.topics import ODDS_RAW, create_topics
from sportsfeed_devstack.config import StackConfig
from sportsfeed_devstack.stack import Stack

from ..conftest import Servers, free_port
from ..ingest_support import ACME, ingest_settings, start_client
from ..kafka_watch import TopicWatch

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def own_kafka(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    config = StackConfig(
        state_dir=Path(tmp_path_factory.mktemp("outage")),
        cache_dir=StackConfig.from_env().cache_dir,
        kafka_port=free_port(),
        kafka_controller_port=free_port(),
    )
    stack = Stack(config, only=frozenset({"kafka"}))
    stack.start()
    yield stack
    stack.stop()


@pytest.fixture
async def client(servers: Servers, own_kafka: Stack) -> AsyncIterator:
    bootstrap = own_kafka.config.kafka_bootstrap
    await create_topics(bootstrap)
    settings = ingest_settings(
        servers, KAFKA_BOOTSTRAP_SERVERS=bootstrap, PRODUCE_TIMEOUT_SECONDS="2"
    )
    test_client = await start_client(settings)
    yield test_client
    await test_client.close()


BASE_TS = datetime.now(UTC) - timedelta(hours=1)


def batch(game_id: str, n: int) -> dict:
    ts = BASE_TS + timedelta(milliseconds=n)
    return {"updates": [{"gameId": game_id, "market": "spread", "ts": ts.isoformat(),
                         "homeOdds": -110 - n % 50, "awayOdds": 100 + n % 50}]}


async def test_kafka_outage_gives_503_and_recovery_needs_no_restart(client, own_kafka: Stack) -> None:
    kafka = own_kafka.servers[0]
    game_id = f"game-{uuid.uuid4()}"
    acknowledged: list[str] = []
    statuses: list[int] = []

    async def send(n: int) -> int:
        response = await client.post("/v1/odds", json=batch(game_id, n), headers=ACME)
        body = await response.json()
        if response.status == 202:
            acknowledged.extend(body["ids"])
        else:
            assert response.status == 503, body
            assert body["error"] == "unavailable"
            assert response.headers["Retry-After"] == "1"
        statuses.append(response.status)
        return response.status

    for n in range(20):
        assert await send(n) == 202

    await asyncio.to_thread(kafka.process.stop)
    outage = [await send(n) for n in range(20, 25)]
    assert outage == [503] * 5
    readiness = await client.get("/readyz")
    assert readiness.status == 503

    await asyncio.to_thread(own_kafka.start)  # same data folder: what was acknowledged is still there
    n = 25
    async with asyncio.timeout(90):  # ingest reconnects by itself; poll until it accepts again
        while await send(n) != 202:
            n += 1
    for k in range(n + 1, n + 20):
        assert await send(k) == 202
    assert (await client.get("/readyz")).status == 200

    async with TopicWatch(own_kafka.config.kafka_bootstrap, ODDS_RAW.name) as watch:
        on_topic = {decode(r.value, OddsUpdate).id for r in await watch.read()}
    missing = set(acknowledged) - on_topic
    assert not missing, f"{len(missing)} acknowledged updates are not on {ODDS_RAW.name}"
    assert statuses.count(202) == len(acknowledged) >= 39
