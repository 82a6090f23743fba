"""``create_app(settings)``: the push gateway's application, its routes and what it owns."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
from aiohttp import web
from sportsfeed_common.health import add_health_routes
from sportsfeed_common.http import (
    Handler,
    handle_with_json_errors,
)
from sportsfeed_common.metrics import add_metrics_route
from sportsfeed_common.openapi import OPENAPI, openapi_view

from .openapi import build_openapi
from .service import GATEWAY_SERVICE, GatewayService
from .settings import GatewaySettings
from .sockets import websocket
from .views import (
    DASHBOARD_DIR,
    HTTP_CLIENT,
    READ_API_TIMEOUT_SECONDS,
    close_connection,
    dashboard_index,
    default_dashboard_dir,
    list_connections,
    read_api,
    send_to_connection,
)

log = logging.getLogger(__name__)

DASHBOARD_FILE = r"{name:[A-Za-z0-9_-]+\.(?:js|css|svg|png|ico|map)}"


def create_app(settings: GatewaySettings, service: GatewayService | None = None) -> web.Application:
    app = web.Application(middlewares=[_json_errors])
    service = service or GatewayService(settings)
    app[GATEWAY_SERVICE] = service
    dashboard = Path(settings.dashboard_dir) if settings.dashboard_dir else default_dashboard_dir()
    app[DASHBOARD_DIR] = dashboard
    app[OPENAPI] = build_openapi(settings)
    app.router.add_get("/ws", websocket, name="ws")
    app.router.add_get("/admin/connections", list_connections, name="admin-connections")
    app.router.add_post("/admin/connections/{connection_id}/messages", send_to_connection, name="admin-send")
    app.router.add_delete("/admin/connections/{connection_id}", close_connection, name="admin-close")
    app.router.add_get("/api/{path:.+}", read_api, name="read-api")
    app.router.add_get("/openapi.json", openapi_view, name="openapi")
    add_health_routes(app, {"kafka": service.feed.check_ready})
    add_metrics_route(app, service.metrics.registry)
    app.router.add_get("/", dashboard_index, name="dashboard")
    vendor = dashboard / "node_modules" / "uplot" / "dist"
    if vendor.is_dir():
        app.router.add_static("/vendor", vendor, name="vendor")
    else:
        log.warning("the dashboard's npm packages are not installed: run npm ci in its folder",
                    extra={"dashboard": str(dashboard)})
    # Only the dashboard's own top-level files, not its node_modules or README.
    app.router.add_get(f"/{DASHBOARD_FILE}", _dashboard_file, name="dashboard-file")
    app.cleanup_ctx.append(_owned)
    app.on_shutdown.append(_going_away)
    return app


async def _dashboard_file(request: web.Request) -> web.StreamResponse:
    path = request.app[DASHBOARD_DIR] / request.match_info["name"]
    if not path.is_file():
        raise web.HTTPNotFound()
    return web.FileResponse(path, headers={"Cache-Control": "no-cache"})


async def _owned(app: web.Application) -> AsyncIterator[None]:
    """Start reading Kafka and the registry on start-up; on shutdown stop them and the HTTP client."""
    service = app[GATEWAY_SERVICE]
    app[HTTP_CLIENT] = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=READ_API_TIMEOUT_SECONDS))
    await service.start()
    yield
    await service.stop()
    await app[HTTP_CLIENT].close()


async def _going_away(app: web.Application) -> None:
    await app[GATEWAY_SERVICE].close_all()


@web.middleware
async def _json_errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    return await handle_with_json_errors(request, handler)
