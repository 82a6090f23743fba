"""Security with production settings, against the four services run as real processes.

- No route answers without credentials, except those the design leaves open on purpose (listed
  below with the reason). Routes are enumerated from each service's own aiohttp router, so a
  route added later is checked without touching this file.
- Analysts' JWTs: persistence's read API and the gateway's /api (which forwards the token to it)
  accept a valid one and refuse a missing, malformed, expired or foreign one with 401.
- Provider API keys are stored only as hashes, and a key is accepted by matching its hash.

Rate limits across two ingest replicas sharing Redis: tests/integration/test_ingest_rate_limits.py.
"""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import aiohttp
import jwt
import pytest
import redis.asyncio as aioredis
from aiohttp import web
from sportsfeed_common.settings import SettingsError, load_settings
from sportsfeed_common.topics import (
    GAMES,
    ODDS_LIVE,
    ODDS_RAW,
    PROVIDER_ACTIVITY,
    create_topics,
)
from sportsfeed_devstack.applications import LocalProviderKeys
from sportsfeed_devstack.config import free_port
from sportsfeed_ingest.app import create_app as create_ingest
from sportsfeed_ingest.auth import ApiKeys, config_entry, hash_key, new_key
from sportsfeed_ingest.settings import IngestSettings
from sportsfeed_ingest.views import INGEST
from sportsfeed_persistence.metrics import PersistenceMetrics
from sportsfeed_persistence.readapi import create_read_api
from sportsfeed_persistence.settings import PersistenceSettings
from sportsfeed_push_gateway.app import create_app as create_gateway
from sportsfeed_push_gateway.settings import GatewaySettings
from sportsfeed_stream_processor.directory import GameDirectory
from sportsfeed_stream_processor.metrics import ProcessorMetrics
from sportsfeed_stream_processor.settings import ProcessorSettings
from sportsfeed_stream_processor.web import create_web_app

from ..conftest import Servers
from ..ingest_support import odds_item
from ..services import caught_up_group, service_process
from ..tables import fresh_table

pytestmark = pytest.mark.integration

PROVIDER = "acme"
PROVIDER_KEY = new_key()
JWT_SECRET = "jwt-" + uuid.uuid4().hex * 2
ADMIN_TOKEN = "admin-" + uuid.uuid4().hex
DASHBOARD_ORIGIN = "https://live.example.com"

# Open on every HTTP service (DESIGN.md, "Ingest API": /openapi.json, /healthz, /readyz, /metrics
# on every HTTP service): the API's own description, and the probes and Prometheus scrape, which
# carry no credentials. HEAD is GET without the body.
OPEN_EVERYWHERE = {"/openapi.json", "/healthz", "/readyz", "/metrics"}
# The gateway's dashboard (docs/push-gateway.md, "GET /": the page's static files): public code with
# no data in it; the data it shows needs the analyst's token, on /ws and on /api.
OPEN_GATEWAY = {"/", "/{name}", "/vendor"}
SAMPLE_PARAMETERS = {"game_id": "game-sec-1", "provider": PROVIDER, "connection_id": "c0ffee",
                     "path": "v1/games/game-sec-1", "name": "app.js"}


@dataclass(frozen=True)
class Route:
    service: str
    method: str
    pattern: str  # as registered: /v1/games/{game_id}
    path: str  # with sample parameters: /v1/games/game-sec-1


def routes_of(service: str, app: web.Application) -> list[Route]:
    routes = []
    for resource in app.router.resources():
        info = resource.get_info()
        pattern = info.get("formatter") or info.get("path") or info["prefix"]
        if "prefix" in info:  # static files: one file of the folder
            path = f"{info['prefix']}/uPlot.iife.min.js"
        else:
            path = pattern.format(**SAMPLE_PARAMETERS) if "{" in pattern else pattern
        # OPTIONS is the CORS preflight, which browsers send without credentials by design.
        routes.extend(Route(service, route.method, pattern, path) for route in resource
                      if route.method not in ("OPTIONS", "*"))
    return routes


@dataclass
class Platform:
    urls: dict[str, str]
    routes: list[Route]
    ingest_api_keys: str  # API_KEYS as the ingest process got it
    ingest_log: Path


def production_environments(servers: Servers, table: str, ports: dict[str, int]) -> dict[str, dict[str, str]]:
    """Each service's environment as charts/sportsfeed/values-eks.yaml sets it (no dev shortcuts)."""
    common = {**os.environ, **servers.environment(), "DYNAMODB_TABLE": table, "HOST": "127.0.0.1",
              "LOG_LEVEL": "INFO"}
    return {
        "ingest": {**common, "PORT": str(ports["ingest"]), "API_KEYS": config_entry(PROVIDER, PROVIDER_KEY)},
        "persistence": {**common, "PORT": str(ports["persistence"]), "CORS_ALLOWED_ORIGINS": DASHBOARD_ORIGIN,
                        "AUTH_ENABLED": "true", "JWT_SECRET": JWT_SECRET},
        "stream-processor": {**common, "PORT": str(ports["stream-processor"])},
        "push-gateway": {**common, "PORT": str(ports["push-gateway"]), "AUTH_ENABLED": "true",
                         "JWT_SECRET": JWT_SECRET, "ADMIN_TOKEN": ADMIN_TOKEN, "ALLOWED_ORIGINS": DASHBOARD_ORIGIN,
                         "READ_API_URL": f"http://127.0.0.1:{ports['persistence']}"},
    }


async def every_route(environments: dict[str, dict[str, str]]) -> list[Route]:
    """The routes each service's factory registers, with the same settings (nothing is started)."""
    ingest = create_ingest(load_settings(IngestSettings, environments["ingest"]))
    await ingest[INGEST].limiter.close()
    persistence = create_read_api(load_settings(PersistenceSettings, environments["persistence"]),
                                  PersistenceMetrics())
    processor_settings = load_settings(ProcessorSettings, environments["stream-processor"])
    processor = create_web_app(processor_settings, ProcessorMetrics(),
                               GameDirectory(processor_settings.kafka_bootstrap_servers, lambda *_: None))
    gateway = create_gateway(load_settings(GatewaySettings, environments["push-gateway"]))
    return [*routes_of("ingest", ingest), *routes_of("persistence", persistence),
            *routes_of("stream-processor", processor), *routes_of("push-gateway", gateway)]


@pytest.fixture(scope="module")
async def platform_setup(servers: Servers) -> tuple[dict[str, dict[str, str]], list[Route]]:
    await create_topics(servers.kafka_bootstrap)
    table = fresh_table(servers).dynamodb_table
    ports = {name: free_port() for name in ("ingest", "persistence", "stream-processor", "push-gateway")}
    environments = production_environments(servers, table, ports)
    environments["persistence"]["CONSUMER_GROUP"] = await caught_up_group(
        servers.kafka_bootstrap, [ODDS_LIVE.name, GAMES.name])
    environments["stream-processor"]["CONSUMER_GROUP"] = await caught_up_group(
        servers.kafka_bootstrap, [ODDS_RAW.name, PROVIDER_ACTIVITY.name])
    return environments, await every_route(environments)


@pytest.fixture(scope="module")
def platform(platform_setup, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Platform]:
    environments, routes = platform_setup
    logs = Path(tmp_path_factory.mktemp("security"))
    modules = {"ingest": "sportsfeed_ingest.main", "persistence": "sportsfeed_persistence.main",
               "stream-processor": "sportsfeed_stream_processor.main", "push-gateway": "sportsfeed_push_gateway.main"}
    urls = {name: f"http://127.0.0.1:{env['PORT']}" for name, env in environments.items()}
    with (service_process(modules["persistence"], environments["persistence"], urls["persistence"],
                          logs / "persistence.log"),
          service_process(modules["stream-processor"], environments["stream-processor"], urls["stream-processor"],
                          logs / "stream-processor.log"),
          service_process(modules["ingest"], environments["ingest"], urls["ingest"], logs / "ingest.log"),
          service_process(modules["push-gateway"], environments["push-gateway"], urls["push-gateway"],
                          logs / "push-gateway.log")):
        yield Platform(urls, routes, environments["ingest"]["API_KEYS"], logs / "ingest.log")


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


def left_open(route: Route) -> bool:
    if route.pattern in OPEN_EVERYWHERE:
        return True
    return route.service == "push-gateway" and route.pattern in OPEN_GATEWAY


async def test_with_production_settings_every_route_without_credentials_is_401_or_403_but_the_documented_open_ones(
        platform: Platform, http: aiohttp.ClientSession) -> None:
    assert {r.service for r in platform.routes} == set(platform.urls)
    assert {"/v1/odds", "/v1/games", "/feeds", "/ws", "/admin/connections", "/api/{path}"} <= {
        r.pattern for r in platform.routes}
    answers = {}
    for route in platform.routes:
        # A browser on the dashboard's own origin, with everything but a credential.
        headers = {"Origin": DASHBOARD_ORIGIN, "Content-Type": "application/json"}
        async with http.request(route.method, f"{platform.urls[route.service]}{route.path}", headers=headers,
                                data=b"{}" if route.method in ("POST", "PUT") else None,
                                allow_redirects=False) as response:
            answers[route] = response.status
    guarded = {route: status for route, status in answers.items() if not left_open(route)}
    assert guarded and all(status in (401, 403) for status in guarded.values()), {
        f"{r.service} {r.method} {r.path}": status for r, status in guarded.items() if status not in (401, 403)}
    opened = {route: status for route, status in answers.items() if left_open(route)}
    assert all(status < 500 or route.pattern == "/readyz" for route, status in opened.items()), opened


def analyst_token(subject: str = "desk-1") -> str:
    return jwt.encode({"sub": subject, "exp": int(time.time()) + 60}, JWT_SECRET, algorithm="HS256")


BAD_AUTHORIZATIONS = pytest.mark.parametrize(
    ("authorization", "status"),
    [(None, 401), ("Bearer not-a-jwt", 401), (f"Bearer {ADMIN_TOKEN}", 401),
     ("Bearer " + jwt.encode({"sub": "desk-1", "exp": int(time.time()) + 86_400}, "another-secret-" * 3,
                             algorithm="HS256"), 401),
     ("Bearer " + jwt.encode({"sub": "desk-1", "exp": int(time.time()) - 10}, JWT_SECRET, algorithm="HS256"), 401),
     ("Bearer " + jwt.encode({"sub": "desk-1"}, JWT_SECRET, algorithm="HS256"), 401),
     ("valid", None)],
    ids=["no-token", "garbage-token", "admin-token", "token-of-another-secret", "expired-token",
         "token-without-exp", "valid-token"],
)


def authorization_headers(authorization: str | None) -> dict[str, str]:
    return {} if authorization is None else {
        "Authorization": f"Bearer {analyst_token()}" if authorization == "valid" else authorization}


# Every route of persistence's read API, with valid parameters (the security test above calls
# them with sample ones, which some handlers would refuse with 400 once let through).
READ_ROUTES = ["/feeds?game=game-sec-unknown", "/v1/games", "/v1/games/game-sec-unknown",
               "/v1/games/game-sec-unknown/odds", "/v1/games/game-sec-unknown/odds/latest",
               "/v1/games/game-sec-unknown/candles?market=spread&provider=sim", f"/v1/providers/{PROVIDER}/counts"]


@BAD_AUTHORIZATIONS
async def test_persistences_read_api_needs_the_analysts_token_with_auth_on(
        platform: Platform, http: aiohttp.ClientSession, authorization: str | None, status: int | None) -> None:
    answers = {}
    for path in READ_ROUTES:
        async with http.get(f"{platform.urls['persistence']}{path}",
                            headers={"Origin": DASHBOARD_ORIGIN, **authorization_headers(authorization)}) as response:
            answers[path] = response.status, (await response.json())["error"] if response.status >= 400 else None
            if response.status == 401:
                assert response.headers["WWW-Authenticate"] == "Bearer"
                # The dashboard's origin may read the refusal.
                assert response.headers["Access-Control-Allow-Origin"] == DASHBOARD_ORIGIN
    if status is not None:
        assert answers == dict.fromkeys(READ_ROUTES, (401, "unauthorized")), answers
    else:  # the valid token is let through to the handlers: 200, or 404 for the unknown game
        assert all(answer[0] in (200, 404) for answer in answers.values()), answers
        assert answers["/v1/games"] == (200, None) and answers[f"/v1/providers/{PROVIDER}/counts"] == (200, None)
    # The open routes stay open without a token.
    for path in OPEN_EVERYWHERE - {"/readyz"}:
        async with http.get(f"{platform.urls['persistence']}{path}") as response:
            assert response.status == 200, path


@BAD_AUTHORIZATIONS
async def test_the_gateways_read_api_needs_the_analysts_token_with_auth_on(
        platform: Platform, http: aiohttp.ClientSession, authorization: str | None, status: int | None) -> None:
    headers = authorization_headers(authorization)
    async with http.get(f"{platform.urls['push-gateway']}/api/v1/games/game-sec-unknown", headers=headers) as response:
        body = await response.json()
        assert response.status == (status or 404), body
    # With a valid token the request reaches persistence (auth on there too: the gateway forwarded
    # the token), whose answer comes back (no such game).
    assert body["error"] == ("unauthorized" if status else "not_found")
    if status is None:
        async with http.get(f"{platform.urls['push-gateway']}/api/v1/games", headers=headers) as response:
            assert response.status == 200, await response.text()
            assert "games" in await response.json()


# --- provider keys are only stored hashed -----------------------------------------------------


async def test_a_provider_key_is_accepted_by_its_hash_and_stored_nowhere_in_plain(
        platform: Platform, servers: Servers, http: aiohttp.ClientSession) -> None:
    ingest = platform.urls["ingest"]
    batch = {"updates": [odds_item(f"game-{uuid.uuid4()}", datetime.now(UTC))]}

    async def post(key: str) -> int:
        async with http.post(f"{ingest}/v1/odds", json=batch, headers={"X-API-Key": key}) as response:
            return response.status

    assert await post(PROVIDER_KEY) == 202  # matched by its SHA-256
    assert await post(hash_key(PROVIDER_KEY)) == 401  # what is stored is no credential
    assert await post(f"sha256:{hash_key(PROVIDER_KEY)}") == 401
    assert await post(PROVIDER_KEY.upper()) == 401

    assert PROVIDER_KEY not in platform.ingest_api_keys and hash_key(PROVIDER_KEY) in platform.ingest_api_keys
    # Nothing the service serves, keeps in Redis or logs holds the key.
    for path in ("/metrics", "/openapi.json", "/readyz"):
        async with http.get(f"{ingest}{path}") as response:
            assert PROVIDER_KEY not in await response.text(), path
    client = aioredis.from_url(servers.redis_url)
    try:
        stored = [key async for key in client.scan_iter(match="sportsfeed:ratelimit*")]
        assert stored, "the accepted request left no rate-limit state"
        for key in stored:
            assert PROVIDER_KEY.encode() not in key and hash_key(PROVIDER_KEY).encode() not in key
            kind = (await client.type(key)).decode()
            value = repr(await client.get(key) if kind == "string" else await client.hgetall(key)
                         if kind == "hash" else await client.dump(key))
            assert PROVIDER_KEY not in value and hash_key(PROVIDER_KEY) not in value
    finally:
        await client.aclose()
    assert PROVIDER_KEY not in platform.ingest_log.read_text()


def test_a_plain_key_in_the_configuration_is_refused_without_being_echoed() -> None:
    with pytest.raises(SettingsError) as refused:
        load_settings(IngestSettings, {"KAFKA_BOOTSTRAP_SERVERS": "127.0.0.1:9092",
                                       "API_KEYS": f"{PROVIDER}={PROVIDER_KEY}"})
    assert "API_KEYS" in str(refused.value) and PROVIDER_KEY not in str(refused.value)
    assert ApiKeys(config_entry(PROVIDER, PROVIDER_KEY)).provider_for(PROVIDER_KEY) == PROVIDER


def test_the_local_stack_configures_ingest_with_the_hash_of_its_providers_key(tmp_path: Path) -> None:
    keys = LocalProviderKeys(tmp_path)
    config = keys.api_keys_config()
    key = keys.key_for("sim")
    assert key not in config and config == config_entry("sim", key)
    assert (keys.path.stat().st_mode & 0o777) == 0o600  # the provider's side of the secret
