"""The processor's HTTP side: health, readiness, metrics and the document of these (no API of its own)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import aioboto3
from aiohttp import web
from sportsfeed_common.aws import dynamodb_client_kwargs
from sportsfeed_common.health import add_health_routes
from sportsfeed_common.http import Handler, handle_with_json_errors
from sportsfeed_common.metrics import add_metrics_route
from sportsfeed_common.openapi import OPENAPI, components, document, openapi_view, service_paths

from .directory import GameDirectory
from .metrics import ProcessorMetrics
from .settings import ProcessorSettings


def create_web_app(settings: ProcessorSettings, metrics: ProcessorMetrics, directory: GameDirectory) -> web.Application:
    app = web.Application(middlewares=[_json_errors])
    client: dict[str, Any] = {}

    async def dynamodb() -> None:
        await client["dynamodb"].describe_table(TableName=settings.dynamodb_table)

    async def games_read() -> None:
        if not directory.caught_up.is_set():
            raise RuntimeError("the games topic is not read to its end yet")

    add_health_routes(app, {"dynamodb": dynamodb, "games": games_read})
    add_metrics_route(app, metrics.registry)
    app[OPENAPI] = document(
        "sportsfeed stream processor",
        "Sequencing, odds movement, candles, counts and feed-health alerts, from odds.raw to odds.live and "
        "odds.alerts. Its HTTP side is only what operators need.",
        service_paths("DynamoDB answers and the games topic is read to its end"), components())
    app.router.add_get("/openapi.json", openapi_view, name="openapi")

    async def dynamodb_client(app: web.Application) -> AsyncIterator[None]:
        async with aioboto3.Session().client("dynamodb", **dynamodb_client_kwargs(settings)) as opened:
            client["dynamodb"] = opened
            yield

    app.cleanup_ctx.append(dynamodb_client)
    return app


@web.middleware
async def _json_errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    return await handle_with_json_errors(request, handler)
