"""``create_app(settings)``: the ingest application, its routes and the clients it owns."""

from __future__ import annotations

from collections.abc import AsyncIterator

from aiohttp import web
from sportsfeed_common.health import add_health_routes
from sportsfeed_common.http import (
    Handler,
    handle_with_json_errors,
)
from sportsfeed_common.kafka_security import KafkaSecurity
from sportsfeed_common.metrics import add_metrics_route
from sportsfeed_common.openapi import OPENAPI, openapi_view

from .auth import ApiKeys
from .metrics import IngestMetrics
from .openapi import build_openapi
from .publisher import Publisher
from .ratelimit import RateLimiter
from .settings import IngestSettings
from .views import INGEST, Ingest, post_odds, put_feeds, put_games


def create_app(settings: IngestSettings) -> web.Application:
    # The body limit is enforced while reading, before anything is parsed.
    app = web.Application(client_max_size=settings.max_body_bytes, middlewares=[_json_errors_and_metrics])
    metrics = IngestMetrics()
    ingest = Ingest(
        settings=settings,
        api_keys=ApiKeys(settings.api_keys),
        metrics=metrics,
        publisher=Publisher(
            settings.kafka_bootstrap_servers, KafkaSecurity.of(settings), settings.produce_timeout_seconds
        ),
        limiter=RateLimiter(settings.redis_url, settings.rate_limits, settings.rate_limit_timeout_seconds),
    )
    app[INGEST] = ingest
    app[OPENAPI] = build_openapi(settings)
    app.router.add_post("/v1/odds", post_odds, name="odds")
    app.router.add_put("/v1/games", put_games, name="games")
    app.router.add_put("/feeds", put_feeds, name="feeds")
    app.router.add_get("/openapi.json", openapi_view, name="openapi")
    add_health_routes(app, {"kafka": ingest.publisher.check_ready})
    add_metrics_route(app, metrics.registry)
    app.cleanup_ctx.append(_clients)
    return app


async def _clients(app: web.Application) -> AsyncIterator[None]:
    """Connect on start-up; on shutdown flush the producer (in-flight batches are acknowledged) and disconnect."""
    ingest = app[INGEST]
    await ingest.publisher.start()
    yield
    await ingest.publisher.stop()
    await ingest.limiter.close()


@web.middleware
async def _json_errors_and_metrics(request: web.Request, handler: Handler) -> web.StreamResponse:
    # One middleware rather than two: at full rate every coroutine layer shows in the profile.
    response = await handle_with_json_errors(request, handler)
    route = request.match_info.route.name or "unmatched"
    request.app[INGEST].metrics.requests.labels(route, str(response.status)).inc()
    return response
