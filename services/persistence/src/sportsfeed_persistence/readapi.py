"""The read API as an aiohttp application.

It runs inside the faust worker's process, on its port (see
``sportsfeed_common.faust_worker.AiohttpServer``), as DESIGN.md has it.
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator

import aioboto3
import aiohttp_cors
from aiohttp import web
from botocore.exceptions import BotoCoreError, ClientError, ParamValidationError
from sportsfeed_common.aws import dynamodb_client_kwargs
from sportsfeed_common.health import add_health_routes
from sportsfeed_common.http import (
    Handler,
    ItemError,
    handle_with_json_errors,
    json_error,
)
from sportsfeed_common.jwt_auth import TokenVerifier, bearer_refusal
from sportsfeed_common.metrics import add_metrics_route
from sportsfeed_common.openapi import OPENAPI, openapi_view

from . import views
from .history import History, InvalidQuery
from .metrics import PersistenceMetrics
from .openapi import build_openapi
from .settings import PersistenceSettings

log = logging.getLogger(__name__)

# DynamoDB's answers that a retry may cure: the read API says 503 and when to retry, rather than 500.
STORAGE_UNAVAILABLE_CODES = frozenset({
    "ProvisionedThroughputExceededException", "ThrottlingException", "RequestLimitExceeded",
    "InternalServerError", "ServiceUnavailable", "ResourceNotFoundException"})
STORAGE_RETRY_AFTER_SECONDS = 1

METRICS = web.AppKey("metrics", PersistenceMetrics)
TOKENS = web.AppKey("tokens", TokenVerifier)
# Open whatever AUTH_ENABLED says, as on every service: the API's description, the probes and the
# Prometheus scrape, which carry no credentials. CORS preflights (OPTIONS) are open too.
OPEN_PATHS = frozenset({"/openapi.json", "/healthz", "/readyz", "/metrics"})


def create_read_api(settings: PersistenceSettings, metrics: PersistenceMetrics) -> web.Application:
    app = web.Application(middlewares=[_errors_and_metrics, _analysts_only])
    if (tokens := settings.token_verifier()) is not None:
        app[TOKENS] = tokens
    history = History(None, settings.dynamodb_table)
    app[views.HISTORY] = history
    app[METRICS] = metrics
    app[OPENAPI] = build_openapi(settings)
    routes = [
        app.router.add_get("/feeds", views.reference_latest_odds, name="feeds"),
        app.router.add_get("/v1/games", views.scheduled_games, name="games"),
        app.router.add_get("/v1/games/{game_id}", views.game, name="game"),
        app.router.add_get("/v1/games/{game_id}/odds", views.odds, name="odds"),
        app.router.add_get("/v1/games/{game_id}/odds/latest", views.latest_odds, name="latest_odds"),
        app.router.add_get("/v1/games/{game_id}/candles", views.candles, name="candles"),
        app.router.add_get("/v1/games/{game_id}/counts", views.game_counts, name="game_counts"),
        app.router.add_get("/v1/providers/{provider}/counts", views.provider_counts, name="counts"),
        app.router.add_get("/v1/providers/{provider}/counts/totals", views.provider_count_totals,
                           name="count_totals"),
        app.router.add_get("/openapi.json", openapi_view, name="openapi"),
    ]
    _allow_cross_origin(app, routes, settings.cors_allowed_origins)
    add_health_routes(app, {"dynamodb": history.check_table})
    add_metrics_route(app, metrics.registry)

    async def dynamodb_client(app: web.Application) -> AsyncIterator[None]:
        async with aioboto3.Session().client("dynamodb", **dynamodb_client_kwargs(settings, interactive=True)) as client:
            history.use(client)
            yield

    app.cleanup_ctx.append(dynamodb_client)
    return app

def _allow_cross_origin(app: web.Application, routes: list[web.AbstractRoute], origins: str) -> None:
    """The dashboard may be served from another origin than the API (always so locally)."""
    options = aiohttp_cors.ResourceOptions(allow_methods=["GET"], allow_headers="*", expose_headers="*")
    cors = aiohttp_cors.setup(app, defaults={origin.strip(): options for origin in origins.split(",")})
    for route in routes:
        cors.add(route)

@web.middleware
async def _errors_and_metrics(request: web.Request, handler: Handler) -> web.StreamResponse:
    started = time.perf_counter()
    response = await handle_with_json_errors(request, _with_query_errors(handler))
    route = request.match_info.route.name or "unmatched"
    metrics = request.app[METRICS]
    metrics.requests.labels(route, str(response.status)).inc()
    metrics.request_seconds.labels(route).observe(time.perf_counter() - started)
    return response


@web.middleware
async def _analysts_only(request: web.Request, handler: Handler) -> web.StreamResponse:
    """With AUTH_ENABLED every read route wants the analyst's JWT (``Authorization: Bearer``): 401 otherwise.

    Every route but the open ones, so a route added later is guarded without being listed here.
    A path that matches no route still gets its 404 (or 405).
    """
    if (request.method != "OPTIONS" and request.path not in OPEN_PATHS
            and request.match_info.http_exception is None
            and (refusal := bearer_refusal(request.app.get(TOKENS), request)) is not None):
        return refusal
    return await handler(request)


def _with_query_errors(handler: Handler) -> Handler:
    async def handle(request: web.Request) -> web.StreamResponse:
        try:
            return await handler(request)
        except InvalidQuery as error:
            return json_error(400, "invalid_query", str(error),
                              errors=[ItemError(index=None, field=error.field, reason=error.reason)])
        except (BotoCoreError, ClientError) as error:
            if not _storage_unavailable(error):
                raise  # a request this code built wrongly: a 500, logged
            log.warning("DynamoDB unavailable", extra={"path": request.path, "error": str(error)})
            return json_error(503, "storage_unavailable", "DynamoDB did not answer; retry shortly",
                              headers={"Retry-After": str(STORAGE_RETRY_AFTER_SECONDS)})

    return handle


def _storage_unavailable(error: BotoCoreError | ClientError) -> bool:
    """Connection failures and timeouts, throttling, DynamoDB's own faults, and a missing table."""
    if isinstance(error, ClientError):
        return error.response.get("Error", {}).get("Code") in STORAGE_UNAVAILABLE_CODES
    return not isinstance(error, ParamValidationError)
