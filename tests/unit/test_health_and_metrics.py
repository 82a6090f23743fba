"""/healthz, /readyz and /metrics through a real aiohttp application."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from prometheus_client import CollectorRegistry, Counter
from sportsfeed_common import health
from sportsfeed_common.health import READINESS_CHECKS, add_health_routes
from sportsfeed_common.metrics import add_metrics_route


async def healthy() -> None:
    return None


async def broken() -> None:
    raise ConnectionError("kafka unreachable")


async def hangs() -> None:
    await asyncio.Event().wait()


@pytest.fixture
async def client(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[TestClient]:
    monkeypatch.setattr(health, "CHECK_TIMEOUT_SECONDS", 0.2)
    registry = CollectorRegistry()
    Counter("sportsfeed_test_events", "events seen", registry=registry).inc(3)
    app = web.Application()
    add_health_routes(app, {"kafka": healthy})
    add_metrics_route(app, registry)
    async with TestClient(TestServer(app)) as test_client:
        yield test_client


async def test_liveness_does_not_depend_on_anything(client: TestClient) -> None:
    client.app[READINESS_CHECKS]["kafka"] = broken
    response = await client.get("/healthz")
    assert response.status == 200


async def test_ready_when_every_check_passes(client: TestClient) -> None:
    response = await client.get("/readyz")
    assert response.status == 200
    assert await response.json() == {"status": "ready", "checks": {"kafka": "ok"}}


async def test_not_ready_names_the_failing_check(client: TestClient) -> None:
    client.app[READINESS_CHECKS].update({"kafka": broken, "redis": hangs})
    response = await client.get("/readyz")
    assert response.status == 503
    body = await response.json()
    assert body["checks"]["kafka"] == "ConnectionError: kafka unreachable"
    assert body["checks"]["redis"].startswith("timed out")


async def test_metrics_are_served_in_prometheus_format(client: TestClient) -> None:
    response = await client.get("/metrics")
    assert response.status == 200
    assert response.headers["Content-Type"].startswith("text/plain")
    assert "sportsfeed_test_events_total 3.0" in await response.text()
