"""Helpers for tests of ingest against real Kafka and Redis: its settings (three providers' keys),
an ingest app in this process, valid updates, and the check that a refused request reached nothing."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from aiohttp.test_utils import TestClient, TestServer
from sportsfeed_common.events import OddsUpdate, decode
from sportsfeed_common.settings import load_settings
from sportsfeed_devstack.waiting import wait_until_async
from sportsfeed_ingest.app import create_app
from sportsfeed_ingest.auth import config_entry, new_key
from sportsfeed_ingest.settings import IngestSettings

ACME_KEY, OTHER_KEY, LIMITED_KEY = new_key(), new_key(), new_key()
JSON = {"Content-Type": "application/json"}
ACME = {**JSON, "X-API-Key": ACME_KEY}


def ingest_settings(servers, **overrides: str) -> IngestSettings:
    environ = {
        **servers.environment(),
        "API_KEYS": ",".join(
            [config_entry("acme", ACME_KEY), config_entry("other", OTHER_KEY), config_entry("limited", LIMITED_KEY)]
        ),
        "RATE_LIMITS": "*=100000/second,limited=5/minute",
        "MAX_BODY_BYTES": str(256 * 1024),
        "BODY_TIMEOUT_SECONDS": "1",
        **overrides,
    }
    return load_settings(IngestSettings, environ)


async def start_client(settings: IngestSettings) -> TestClient:
    client = TestClient(TestServer(create_app(settings)))
    await client.start_server()
    async def ready() -> bool:
        return (await client.get("/readyz")).status == 200

    # The producer connects in the background.
    await wait_until_async(ready, timeout=30, what="ingest to be ready")
    return client


def new_game() -> str:
    return f"game-{uuid.uuid4()}"


def odds_item(game_id: str, ts: datetime, **overrides: Any) -> dict[str, Any]:
    item = {
        "gameId": game_id, "market": "spread", "ts": ts.isoformat().replace("+00:00", "Z"),
        "home": -3.5, "away": 3.5, "homeOdds": -110, "awayOdds": -105,
    }
    item.update(overrides)
    return item


async def accepted(response) -> dict[str, Any]:
    body = await response.json()
    assert response.status == 202, body
    return body


async def assert_refused_and_nothing_reached_kafka(
    client, odds_raw, send, status: int, error: str
) -> dict[str, Any]:
    """Make the refused request, then a valid marker request; only the marker may be on the topic."""
    await odds_raw.mark()
    response = await send()
    body = await response.json()
    assert response.status == status, body
    assert body["error"] == error
    assert body["message"]
    marker_game = new_game()
    marker = await accepted(await client.post(
        "/v1/odds", json={"updates": [odds_item(marker_game, datetime.now(UTC))]}, headers=ACME
    ))
    arrived = [decode(r.value, OddsUpdate).id for r in await odds_raw.read()]
    assert arrived == marker["ids"], "a refused request left something on odds.raw"
    return {"body": body, "headers": response.headers}


def valid_batch() -> dict[str, Any]:
    return {"updates": [odds_item(new_game(), datetime.now(UTC))]}
