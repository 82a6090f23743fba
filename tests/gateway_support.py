"""Helpers for tests of the push gateway against real Kafka and Redis: LiveUpdates as the stream
processor publishes them, games, a gateway's environment, and a gateway run as a real process."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sportsfeed_common.events import Game, ImpliedProbabilities, LiveUpdate, Trace, encode
from sportsfeed_common.topics import GAMES, ODDS_LIVE
from sportsfeed_devstack.applications import http_ok
from sportsfeed_devstack.config import free_port
from sportsfeed_devstack.waiting import wait_until

from .kafka_watch import produce
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


def spawn_gateway(env: dict[str, str], log: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    with open(log, "ab") as output:
        process = subprocess.Popen([sys.executable, "-m", "sportsfeed_push_gateway.main"],
                                   env={**os.environ, **env, "HOST": "127.0.0.1", "PORT": str(port)},
                                   stdout=output, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"

    def ready() -> bool:
        if process.poll() is not None:
            raise RuntimeError(f"the gateway exited with {process.returncode}:\n{log.read_text()[-3000:]}")
        return http_ok(f"{url}/readyz")

    wait_until(ready, timeout=60, what="the gateway process to be ready")
    return process, url
