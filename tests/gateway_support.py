"""Helpers for tests of the push gateway against real Kafka and Redis: LiveUpdates as the stream
processor publishes them, games, a gateway's environment, and a gateway run in this process or as a
real process (the fixtures that start them are in tests/integration/conftest.py)."""

from __future__ import annotations

import os
import subprocess
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp.test_utils import TestServer
from sportsfeed_common.events import Game, ImpliedProbabilities, LiveUpdate, Trace, encode
from sportsfeed_common.settings import load_settings
from sportsfeed_common.topics import GAMES, ODDS_LIVE
from sportsfeed_devstack.config import free_port
from sportsfeed_devstack.waiting import wait_until_async
from sportsfeed_push_gateway.app import create_app
from sportsfeed_push_gateway.service import GATEWAY_SERVICE, GatewayService
from sportsfeed_push_gateway.settings import GatewaySettings

from .kafka_watch import produce
from .services import spawn_service
from .ws_client import Analyst

ADMIN_TOKEN = "admin-" + uuid.uuid4().hex
JWT_SECRET = "jwt-secret-for-tests-" + uuid.uuid4().hex
ORIGIN = "http://dashboard.example"
T0 = datetime.now(UTC).replace(microsecond=0)


def game_ids(count: int) -> list[str]:
    run = uuid.uuid4().hex[:8]
    return [f"game-{run}-{n}" for n in range(count)]


def live(game: str, seq: int, market: str = "spread", provider: str = "acme", status: str = "open") -> LiveUpdate:
    stamp = time.time_ns() // 1_000_000
    return LiveUpdate(provider=provider, game_id=game, market=market, ts=T0 + timedelta(milliseconds=seq),
                      home=-3.5, away=3.5, home_odds=-110 - seq % 50, away_odds=-110, status=status,
                      seq=seq, date=stamp // 1000, implied=ImpliedProbabilities(home=0.52, away=0.5),
                      trace=Trace(ingested_at=stamp, processed_at=stamp))


async def publish_live(servers, updates: list[LiveUpdate]) -> None:
    await produce(servers.kafka_bootstrap, ODDS_LIVE.name, [(u.game_id.encode(), encode(u)) for u in updates])


async def publish_games(servers, games: list[Game]) -> None:
    await produce(servers.kafka_bootstrap, GAMES.name, [(g.game_id.encode(), encode(g)) for g in games])


def game(game_id: str, sport: str) -> Game:
    return Game(game_id=game_id, sport=sport, name=f"{game_id} match", home_team="Home", away_team="Away",
                game_date=T0 + timedelta(hours=2), status="live")


def gateway_environment(servers, **overrides: str) -> dict[str, str]:
    return {**servers.environment(), "POD_NAME": f"it-gw-{uuid.uuid4().hex[:6]}",
            "ALLOWED_ORIGINS": ORIGIN, "ADMIN_TOKEN": ADMIN_TOKEN, "REPLAY_WINDOW_SECONDS": "300",
            **overrides}


async def connect(analysts: list[Analyst], url: str, query: str = "client=analyst", **options: Any) -> Analyst:
    """An analyst's socket, registered in ``analysts`` (closed at the test's end), once hello arrived."""
    analyst = await Analyst.connect(url, query, **options)
    analysts.append(analyst)
    await analyst.wait_for(lambda a: a.of_type("hello"), "hello")
    return analyst


async def subscribed(analysts: list[Analyst], url: str, game_id: str) -> Analyst:
    """An analyst subscribed to ``game_id`` (no ``since``), once the game's snapshot arrived."""
    analyst = await connect(analysts, url)
    await analyst.send({"op": "subscribe", "games": [game_id]})
    await analyst.wait_for(lambda a: a.of_type("snapshot"), "the snapshot")
    return analyst


async def publish_until_received(servers, analyst: Analyst, game_id: str, last: int) -> None:
    """Publish ``game_id``'s seqs 1..last; return once ``analyst`` got exactly those, in order."""
    await publish_live(servers, [live(game_id, seq) for seq in range(1, last + 1)])
    await analyst.wait_for(lambda a: a.seqs(game_id) == list(range(1, last + 1)), f"seq 1..{last}")


def spawn_gateway(env: dict[str, str], log: Path) -> tuple[subprocess.Popen[bytes], str]:
    """A gateway as a real process on a free port, once ready; returns it and its URL."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    process = spawn_service("sportsfeed_push_gateway.main",
                            {**os.environ, **env, "HOST": "127.0.0.1", "PORT": str(port)}, log, url)
    return process, url


@dataclass
class RunningGateway:
    """A gateway in this process (aiohttp's TestServer, through the real ``create_app``)."""
    url: str
    server: TestServer
    service: GatewayService

    async def stop(self) -> None:
        await self.server.close()


StartGateway = Callable[..., Awaitable[RunningGateway]]


async def start_in_process(servers, **overrides: str) -> RunningGateway:
    """A gateway in this process on a free port, with ``gateway_environment``, once warm (``/readyz``)."""
    settings = load_settings(GatewaySettings, gateway_environment(servers, **overrides))
    app = create_app(settings)
    server = TestServer(app, host="127.0.0.1", port=free_port())
    await server.start_server()
    gateway = RunningGateway(str(server.make_url("")).rstrip("/"), server, app[GATEWAY_SERVICE])
    try:
        await wait_until_async(gateway_ready(gateway.url), timeout=60, what="the gateway to be warm")
    except BaseException:
        await gateway.stop()
        raise
    return gateway


def gateway_ready(url: str) -> Callable[[], Awaitable[bool]]:
    async def ready() -> bool:
        async with aiohttp.ClientSession() as session, session.get(f"{url}/readyz") as response:
            return response.status == 200
    return ready
