"""Fixtures shared by the integration tests (the servers themselves come from tests/conftest.py).

Module-scoped fixtures here are still one per module: each module using ``client`` gets an ingest
of its own. Helpers that are not fixtures live beside the tests, in tests/*_support.py, services.py,
tables.py and launcher_process.py; no test module imports another.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient
from sportsfeed_common.topics import ODDS_RAW, create_topics

from ..gateway_support import RunningGateway, StartGateway, gateway_environment, spawn_gateway, start_in_process
from ..ingest_support import ingest_settings, start_client
from ..kafka_watch import TopicWatch
from ..services import stop_process
from ..ws_client import Analyst


@pytest.fixture(scope="module")
async def client(servers) -> AsyncIterator[TestClient]:
    """Ingest in this process (``ingest_settings``: three providers, 256 KiB body limit), on the session's servers."""
    await create_topics(servers.kafka_bootstrap)
    test_client = await start_client(ingest_settings(servers))
    yield test_client
    await test_client.close()


@pytest.fixture(scope="module")
async def odds_raw(servers) -> AsyncIterator[TopicWatch]:
    """What reaches odds.raw (``mark()`` then ``read()``)."""
    await create_topics(servers.kafka_bootstrap)
    async with TopicWatch(servers.kafka_bootstrap, ODDS_RAW.name) as watch:
        yield watch


@pytest.fixture
async def analysts() -> AsyncIterator[list[Analyst]]:
    """WebSocket clients a test connects register here and are closed at its end."""
    connected: list[Analyst] = []
    yield connected
    for analyst in connected:
        await analyst.close()


@pytest.fixture
async def start_gateway(servers) -> AsyncIterator[StartGateway]:
    """Starts push gateways in this process (``start_gateway(**settings)``); stops them at the test's end."""
    await create_topics(servers.kafka_bootstrap)
    running: list[RunningGateway] = []

    async def start(**overrides: str) -> RunningGateway:
        gateway = await start_in_process(servers, **overrides)
        running.append(gateway)
        return gateway

    yield start
    for gateway in running:
        await gateway.stop()


@pytest.fixture
def gateway_process(servers, tmp_path: Path) -> Iterator[str]:
    """A push gateway as a real process; its URL. Stopped with SIGTERM at the test's end."""
    asyncio.run(create_topics(servers.kafka_bootstrap))
    process, url = spawn_gateway(gateway_environment(servers), tmp_path / "gateway.log")
    try:
        yield url
    finally:
        stop_process(process)
