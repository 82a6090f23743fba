"""Each service's /openapi.json says what its settings make it do: auth on or off, the limits, the rules
its validators check. (tests/contract proves each document against its running service.)"""

from __future__ import annotations

from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer
from sportsfeed_common.settings import load_settings
from sportsfeed_devstack.config import free_port
from sportsfeed_ingest.openapi import build_openapi as ingest_document
from sportsfeed_ingest.settings import IngestSettings
from sportsfeed_persistence.metrics import PersistenceMetrics
from sportsfeed_persistence.openapi import build_openapi as read_api_document
from sportsfeed_persistence.readapi import create_read_api
from sportsfeed_persistence.settings import PersistenceSettings
from sportsfeed_push_gateway.openapi import build_openapi as gateway_document
from sportsfeed_push_gateway.settings import GatewaySettings

BASE = {"KAFKA_BOOTSTRAP_SERVERS": "127.0.0.1:9092"}
AUTH_ON = {**BASE, "AUTH_ENABLED": "true", "JWT_SECRET": "s" * 32}


def operations(document: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {f"{method.upper()} {path}": operation for path, methods in document["paths"].items()
            for method, operation in methods.items()}


def test_the_read_api_with_auth_off_requires_nothing_and_says_so() -> None:
    document = read_api_document(load_settings(PersistenceSettings, BASE))
    for name, operation in operations(document).items():
        assert operation["security"] == [], name
        assert "401" not in operation["responses"], name
    assert "`analyst` authentication is off" in document["info"]["description"]


def test_the_read_api_with_auth_on_requires_the_analyst_jwt_on_every_read_route() -> None:
    document = read_api_document(load_settings(PersistenceSettings, AUTH_ON))
    for name, operation in operations(document).items():
        open_route = name.split()[1] in ("/healthz", "/readyz", "/metrics", "/openapi.json")
        assert operation["security"] == ([] if open_route else [{"analyst": []}]), name
        assert ("401" in operation["responses"]) is not open_route, name
    assert "`analyst` authentication is on" in document["info"]["description"]


def test_read_api_times_are_rfc3339_from_1970_or_epoch_milliseconds_up_to_year_9999() -> None:
    document = read_api_document(load_settings(PersistenceSettings, BASE))
    start = next(p for p in operations(document)["GET /v1/games/{gameId}/odds"]["parameters"] if p["name"] == "from")
    text, millis = start["schema"]["anyOf"]
    assert text == {"type": "string", "format": "date-time", "pattern": "^(19[7-9][0-9]|[2-9][0-9]{3})-"}
    assert millis == {"type": "integer", "minimum": 0, "maximum": 253_402_300_799_999}


@pytest.mark.parametrize("anonymous", [False, True])
def test_ingest_declares_every_refusal_and_the_key_as_configured(anonymous: bool) -> None:
    env = {**BASE, "MAX_BATCH_ITEMS": "100", **({"ANONYMOUS_FEEDS_PROVIDER": "reference"} if anonymous else {})}
    document = ingest_document(load_settings(IngestSettings, env))
    writes = {name: op for name, op in operations(document).items() if name.split()[0] in ("POST", "PUT")}
    assert set(writes) == {"POST /v1/odds", "PUT /v1/games", "PUT /feeds"}
    for name, operation in writes.items():
        assert set(operation["responses"]) == {"202", "400", "401", "408", "413", "415", "422", "429", "503"}, name
        expected = [{"ApiKey": []}, {}] if anonymous and name == "PUT /feeds" else [{"ApiKey": []}]
        assert operation["security"] == expected, name
    assert document["components"]["schemas"]["OddsBatch"]["properties"]["updates"]["maxItems"] == 100


def test_ingest_states_the_odds_rules_and_the_reference_date_grammar() -> None:
    schemas = ingest_document(load_settings(IngestSettings, BASE))["components"]["schemas"]
    by_format, draw = schemas["OddsSubmission"]["allOf"]
    decimal, american = by_format["anyOf"]
    assert decimal["properties"]["homeOdds"] == {"exclusiveMinimum": 1.0}
    assert american["properties"]["awayOdds"] == {"anyOf": [{"maximum": -100}, {"minimum": 100}]}
    assert draw["anyOf"][1]["required"] == ["drawOdds"]
    date_text = next(c for c in schemas["ReferenceOdds"]["properties"]["date"]["anyOf"] if c.get("type") == "string")
    assert "02-29" in date_text["pattern"] and date_text["pattern"].endswith("Z?$")


@pytest.mark.parametrize(("admin_token", "auth"), [(None, False), ("t" * 32, True)])
def test_the_gateway_declares_its_admin_routes_and_analyst_auth_as_configured(admin_token: str | None,
                                                                             auth: bool) -> None:
    env = {**(AUTH_ON if auth else BASE), **({"ADMIN_TOKEN": admin_token} if admin_token else {})}
    found = operations(gateway_document(load_settings(GatewaySettings, env)))
    admin = found["GET /admin/connections"]
    assert admin["security"] == ([{"admin": []}] if admin_token else [])
    assert "503" in admin["responses"] and ("401" in admin["responses"]) is bool(admin_token)
    assert found["GET /ws"]["security"] == ([{"socketToken": []}] if auth else [])
    assert found["GET /api/{path}"]["parameters"][0]["in"] == "path"
    assert {"Connection", "Upgrade", "Sec-WebSocket-Version", "Sec-WebSocket-Key"} <= {
        p["name"] for p in found["GET /ws"]["parameters"] if p["in"] == "header"}


async def test_the_read_api_answers_503_with_retry_after_when_dynamodb_does_not_answer() -> None:
    """As its document declares: a refused connection is not the analyst's fault, nor a crash."""
    settings = load_settings(PersistenceSettings, {**BASE, "DYNAMODB_ENDPOINT": f"http://127.0.0.1:{free_port()}"})
    async with TestClient(TestServer(create_read_api(settings, PersistenceMetrics()))) as client:
        response = await client.get("/v1/games/game-1/odds")
        assert response.status == 503, await response.text()
        assert response.headers["Retry-After"] == "1"
        assert (await response.json())["error"] == "storage_unavailable"
    document = read_api_document(settings)
    assert "503" in operations(document)["GET /v1/games/{gameId}/odds"]["responses"]
