"""Prometheus metrics: one registry per application, served at ``/metrics``."""

from __future__ import annotations

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

METRICS_REGISTRY = web.AppKey("metrics_registry", CollectorRegistry)

# Latency buckets in seconds, fine-grained below 100 ms where the platform's targets are.
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.02, 0.035, 0.05, 0.075, 0.1, 0.15, 0.25, 0.5, 1, 2.5, 5)


async def metrics_view(request: web.Request) -> web.Response:
    body = generate_latest(request.app[METRICS_REGISTRY])
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})


def add_metrics_route(app: web.Application, registry: CollectorRegistry) -> None:
    """Serve ``registry`` at ``GET /metrics``.

    A registry per application (rather than the global default) keeps tests
    that build several apps in one process from colliding on metric names.
    """
    app[METRICS_REGISTRY] = registry
    app.router.add_get("/metrics", metrics_view)
