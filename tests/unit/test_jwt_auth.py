"""Analysts' JWTs: the one verifier the push gateway and the persistence read API share, their
settings, and the read API's guard in front of its routes (no DynamoDB needed for a refusal)."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from typing import Any

import jwt
import msgspec
import pytest
from aiohttp.test_utils import TestClient, TestServer, make_mocked_request
from sportsfeed_common.jwt_auth import (
    AnalystAuthSettings,
    InvalidToken,
    TokenVerifier,
    bearer_refusal,
    bearer_token,
)
from sportsfeed_common.settings import Secret, SettingsError, load_settings
from sportsfeed_persistence.metrics import PersistenceMetrics
from sportsfeed_persistence.readapi import create_read_api
from sportsfeed_persistence.settings import PersistenceSettings
from sportsfeed_push_gateway.settings import GatewaySettings

SECRET = "unit-test-jwt-secret-" + "x" * 32
BASE = {"KAFKA_BOOTSTRAP_SERVERS": "127.0.0.1:9092"}
DASHBOARD = "https://live.example.com"


def token(claims: dict[str, Any] | None = None, secret: str = SECRET, **overrides: Any) -> str:
    # Valid for a day: parameter lists build their tokens at collection, long before the test runs.
    body = {"sub": "desk-1", "exp": int(time.time()) + 86_400, **(claims or {}), **overrides}
    return jwt.encode({k: v for k, v in body.items() if v is not None}, secret, algorithm="HS256")


def verifier(audience: str | None = None) -> TokenVerifier:
    return TokenVerifier(Secret(SECRET), audience)


def test_a_valid_token_gives_its_subject() -> None:
    assert verifier().subject(token()) == "desk-1"
    assert verifier("sportsfeed").subject(token(aud="sportsfeed")) == "desk-1"


@pytest.mark.parametrize(
    ("bad", "reason"),
    [
        (None, "no token"),
        ("", "no token"),
        ("not-a-jwt", "invalid token"),
        (token(secret="another-secret-" * 3), "Signature verification failed"),
        (token(exp=int(time.time()) - 10), "expired"),
        (token(exp=None), "exp"),
        (token(sub=None), "sub"),
        (token(aud="someone-else"), "audience"),  # no audience configured: a token naming one is refused
        (jwt.encode({"sub": "desk-1", "exp": int(time.time()) + 86_400}, None, algorithm="none"), "invalid token"),
    ],
    ids=["none", "empty", "garbage", "other-secret", "expired", "no-exp", "no-sub", "unexpected-aud", "alg-none"],
)
def test_every_bad_token_is_refused_with_its_reason(bad: str | None, reason: str) -> None:
    with pytest.raises(InvalidToken, match=reason):
        verifier().subject(bad)


def test_an_audience_when_configured_is_required() -> None:
    with pytest.raises(InvalidToken, match="aud"):
        verifier("sportsfeed").subject(token())
    with pytest.raises(InvalidToken, match="(?i)audience"):
        verifier("sportsfeed").subject(token(aud="another-platform"))


def test_the_secret_never_shows_in_a_refusal() -> None:
    with pytest.raises(InvalidToken) as refused:
        verifier().subject(token(secret="another-secret-" * 3))
    assert SECRET not in str(refused.value)


@pytest.mark.parametrize(
    ("header", "expected"),
    [(None, None), ("", None), ("Bearer ", None), ("Basic abc", None), ("bearer abc", None), ("Bearer abc", "abc")],
)
def test_bearer_token_reads_only_a_bearer_header(header: str | None, expected: str | None) -> None:
    assert bearer_token(header) == expected


def test_bearer_refusal_is_a_401_json_error_with_www_authenticate() -> None:
    refused = bearer_refusal(verifier(), make_mocked_request("GET", "/v1/games"))
    assert refused is not None and refused.status == 401
    assert refused.headers["WWW-Authenticate"] == "Bearer"
    body = msgspec.json.decode(refused.body)
    assert body["error"] == "unauthorized" and "Authorization: Bearer <jwt>" in body["message"]
    allowed = make_mocked_request("GET", "/v1/games", headers={"Authorization": f"Bearer {token()}"})
    assert bearer_refusal(verifier(), allowed) is None
    assert bearer_refusal(None, make_mocked_request("GET", "/v1/games")) is None  # auth off


@pytest.mark.parametrize("settings_type", [AnalystAuthSettings, GatewaySettings, PersistenceSettings])
def test_auth_settings_are_the_same_for_every_service(settings_type: type[AnalystAuthSettings]) -> None:
    assert load_settings(settings_type, BASE).token_verifier() is None  # off by default (local)
    with pytest.raises(SettingsError, match="JWT_SECRET: required when AUTH_ENABLED is true"):
        load_settings(settings_type, {**BASE, "AUTH_ENABLED": "true"})
    settings = load_settings(settings_type, {**BASE, "AUTH_ENABLED": "true", "JWT_SECRET": SECRET,
                                             "JWT_AUDIENCE": "sportsfeed"})
    assert SECRET not in repr(settings)
    tokens = settings.token_verifier()
    assert tokens is not None and tokens.subject(token(aud="sportsfeed")) == "desk-1"


# --- the read API's guard ---------------------------------------------------------------------------


@pytest.fixture
async def read_api() -> AsyncIterator[TestClient]:
    settings = load_settings(PersistenceSettings, {
        **BASE, "AUTH_ENABLED": "true", "JWT_SECRET": SECRET, "CORS_ALLOWED_ORIGINS": DASHBOARD,
        "DYNAMODB_ENDPOINT": "http://127.0.0.1:9", "AWS_ACCESS_KEY_ID": "x", "AWS_SECRET_ACCESS_KEY": "x"})
    async with TestClient(TestServer(create_read_api(settings, PersistenceMetrics()))) as client:
        yield client


@pytest.mark.parametrize("path", ["/feeds?game=game-1", "/v1/games", "/v1/games/game-1", "/v1/games/game-1/odds",
                                  "/v1/games/game-1/odds/latest", "/v1/games/game-1/candles?market=spread&provider=sim",
                                  "/v1/providers/acme/counts"])
async def test_with_auth_on_every_read_route_wants_a_token(read_api: TestClient, path: str) -> None:
    for headers in ({}, {"Authorization": "Bearer garbage"}, {"Authorization": f"Bearer {token(secret='o' * 40)}"},
                    {"Authorization": f"Bearer {token(exp=int(time.time()) - 5)}"}, {"Authorization": token()}):
        response = await read_api.get(path, headers={"Origin": DASHBOARD, **headers})
        assert response.status == 401, (path, headers)
        assert response.headers["WWW-Authenticate"] == "Bearer"
        # The dashboard's origin may read the refusal (CORS headers on the 401 too).
        assert response.headers["Access-Control-Allow-Origin"] == DASHBOARD
        assert (await response.json())["error"] == "unauthorized"


async def test_a_valid_token_reaches_the_handler(read_api: TestClient) -> None:
    # A query the handler refuses before any DynamoDB call: the token was let through.
    response = await read_api.get("/v1/games?status=live", headers={"Authorization": f"Bearer {token()}"})
    assert response.status == 400 and (await response.json())["error"] == "invalid_query"


async def test_probes_description_preflight_and_unknown_paths_stay_as_they_were(read_api: TestClient) -> None:
    assert (await read_api.get("/healthz")).status == 200
    assert (await read_api.get("/metrics")).status == 200
    document = await (await read_api.get("/openapi.json")).json()
    assert document["components"]["securitySchemes"]["analyst"]["scheme"] == "bearer"
    assert document["paths"]["/v1/games"]["get"]["security"] == [{"analyst": []}]
    assert "401" in document["paths"]["/v1/games/{gameId}/odds"]["get"]["responses"]
    preflight = await read_api.options("/v1/games", headers={
        "Origin": DASHBOARD, "Access-Control-Request-Method": "GET", "Access-Control-Request-Headers": "authorization"})
    assert preflight.status == 200 and "GET" in preflight.headers["Access-Control-Allow-Methods"]
    assert (await read_api.get("/nowhere")).status == 404
