"""The four services as real processes against the session's servers, once with local settings (as
``./sportsfeed up`` runs them) and once with production settings (as charts/sportsfeed/values-eks.yaml
sets them: analysts' auth on, no anonymous provider), for schemathesis to call."""

from __future__ import annotations

import json
import os
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import jwt
import pytest
from sportsfeed_common.topics import GAMES, ODDS_LIVE, ODDS_RAW, PROVIDER_ACTIVITY, create_topics
from sportsfeed_devstack.config import free_port
from sportsfeed_devstack.waiting import wait_until
from sportsfeed_ingest.auth import config_entry, new_key

from ..conftest import Servers
from ..services import caught_up_group, service_process
from ..tables import fresh_table

MODULES = {"ingest": "sportsfeed_ingest.main", "persistence": "sportsfeed_persistence.main",
           "stream-processor": "sportsfeed_stream_processor.main", "push-gateway": "sportsfeed_push_gateway.main"}
PROFILES = ("local", "production")


@dataclass(frozen=True)
class Platform:
    profile: str
    urls: dict[str, str]
    credentials: dict[str, str]  # the CONTRACT_* variables tests/contract/schemathesis.toml reads


def _environments(servers: Servers, table: str, profile: str, secrets: dict[str, str]) -> dict[str, dict[str, str]]:
    common = {**os.environ, **servers.environment(), "DYNAMODB_TABLE": table, "HOST": "127.0.0.1",
              "LOG_LEVEL": "WARNING"}
    ports = {name: str(free_port()) for name in MODULES}
    production = profile == "production"
    analysts = {"AUTH_ENABLED": "true", "JWT_SECRET": secrets["jwt"]} if production else {}
    return {
        "ingest": {**common, "PORT": ports["ingest"], "API_KEYS": config_entry("contract", secrets["key"]),
                   "RATE_LIMITS": "*=1000000/second",
                   **({} if production else {"ANONYMOUS_FEEDS_PROVIDER": "reference"})},
        "persistence": {**common, "PORT": ports["persistence"], **analysts},
        "stream-processor": {**common, "PORT": ports["stream-processor"]},
        "push-gateway": {**common, "PORT": ports["push-gateway"], "ADMIN_TOKEN": secrets["admin"], **analysts,
                         "READ_API_URL": f"http://127.0.0.1:{ports['persistence']}"},
    }


@pytest.fixture(scope="module", params=PROFILES)
async def contract_setup(request: pytest.FixtureRequest, servers: Servers) -> tuple[str, dict, dict[str, str]]:
    await create_topics(servers.kafka_bootstrap)
    table = fresh_table(servers).dynamodb_table
    secrets = {"key": new_key(), "jwt": uuid.uuid4().hex, "admin": uuid.uuid4().hex}
    environments = _environments(servers, table, request.param, secrets)
    environments["persistence"]["CONSUMER_GROUP"] = await caught_up_group(
        servers.kafka_bootstrap, [ODDS_LIVE.name, GAMES.name])
    environments["stream-processor"]["CONSUMER_GROUP"] = await caught_up_group(
        servers.kafka_bootstrap, [ODDS_RAW.name, PROVIDER_ACTIVITY.name])
    return request.param, environments, secrets


SEEDED_GAMES = ("game-contract-1", "game-contract-2")
SEEDED_UPDATES = 3  # per game: more than one page at limit=1, so the documents' nextPage links are followed


def _call(method: str, url: str, body: object | None = None, headers: dict[str, str] | None = None) -> Any:
    request = urllib.request.Request(url, method=method, data=json.dumps(body).encode() if body else None,
                                     headers={"Content-Type": "application/json", **(headers or {})})
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.load(response)


def _seed(platform: Platform) -> None:
    """Games and prices through ingest, stored by persistence: data for the stateful phase's links."""
    ingest, key = platform.urls["ingest"], {"X-API-Key": platform.credentials["CONTRACT_API_KEY"]}
    now = datetime.now(UTC)
    _call("PUT", f"{ingest}/v1/games", {"games": [
        {"gameId": game, "sport": "soccer", "name": f"Contract {game}", "homeTeam": "Home", "awayTeam": "Away",
         "gameDate": (now + timedelta(days=1)).isoformat()} for game in SEEDED_GAMES]}, key)
    _call("POST", f"{ingest}/v1/odds", {"updates": [
        {"gameId": game, "market": "spread", "ts": (now - timedelta(seconds=10 - second)).isoformat(),
         "homeOdds": -110, "awayOdds": 120 + second} for game in SEEDED_GAMES for second in range(SEEDED_UPDATES)]},
        key)
    analyst = {"Authorization": f"Bearer {platform.credentials['CONTRACT_ANALYST_JWT']}"}
    read_api = platform.urls["persistence"]

    def stored() -> bool:
        try:
            return all(len(_call("GET", f"{read_api}/v1/games/{game}/odds", headers=analyst)["odds"])
                       == SEEDED_UPDATES for game in SEEDED_GAMES) and \
                len(_call("GET", f"{read_api}/v1/games", headers=analyst)["games"]) >= len(SEEDED_GAMES)
        except urllib.error.HTTPError:
            return False  # 404 until the first is stored

    wait_until(stored, timeout=60, what="the seeded games and prices to be stored")


@pytest.fixture(scope="module")
def platform(contract_setup, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Platform]:
    profile, environments, secrets = contract_setup
    logs = Path(tmp_path_factory.mktemp(f"contract-{profile}"))
    urls = {name: f"http://127.0.0.1:{env['PORT']}" for name, env in environments.items()}
    analyst_jwt = jwt.encode({"sub": "contract-analyst", "exp": int(time.time()) + 3600}, secrets["jwt"], "HS256")
    with ExitStack() as running:
        for name, module in MODULES.items():
            running.enter_context(service_process(module, environments[name], urls[name], logs / f"{name}.log"))
        running_platform = Platform(profile, urls, {
            "CONTRACT_API_KEY": secrets["key"], "CONTRACT_ANALYST_JWT": analyst_jwt,
            "CONTRACT_ADMIN_TOKEN": secrets["admin"]})
        _seed(running_platform)
        yield running_platform
