"""The gateway's HTTP views: the admin endpoints, the read-API pass-through and the dashboard's files."""

from __future__ import annotations

import logging
from pathlib import Path

import aiohttp
import msgspec
from aiohttp import web
from redis.exceptions import RedisError
from sportsfeed_common.http import json_error, json_response
from sportsfeed_common.jwt_auth import bearer_refusal

from .auth import admin_allowed
from .service import GATEWAY_SERVICE

log = logging.getLogger(__name__)

HTTP_CLIENT = web.AppKey("http_client", aiohttp.ClientSession)
DASHBOARD_DIR = web.AppKey("dashboard_dir", Path)
READ_API_TIMEOUT_SECONDS = 10.0
# Response headers of the read API worth passing on to the browser.
PASSED_HEADERS = ("Content-Type", "Cache-Control", "ETag", "Last-Modified", "WWW-Authenticate", "Retry-After")
# Request headers passed on to the read API: the analyst's token (the read API checks it too).
FORWARDED_HEADERS = ("Authorization",)


def _admin_refusal(request: web.Request) -> web.Response | None:
    settings = request.app[GATEWAY_SERVICE].settings
    if settings.admin_token is None:
        return json_error(503, "admin_disabled", "the admin endpoints need ADMIN_TOKEN to be set")
    if not admin_allowed(request.headers.get("Authorization"), settings.admin_token):
        return json_error(401, "unauthorized", "Authorization: Bearer <admin token> is required",
                          headers={"WWW-Authenticate": "Bearer"})
    return None


async def list_connections(request: web.Request) -> web.Response:
    if (refusal := _admin_refusal(request)) is not None:
        return refusal
    try:
        connections = await request.app[GATEWAY_SERVICE].registry.all_connections()
    except RedisError as error:
        return json_error(503, "registry_unavailable", f"the Redis registry does not answer: {error}")
    return json_response({"connections": connections, "count": len(connections)})


async def send_to_connection(request: web.Request) -> web.Response:
    if (refusal := _admin_refusal(request)) is not None:
        return refusal
    try:
        frame = msgspec.json.decode(await request.read())
    except msgspec.DecodeError as error:
        return json_error(400, "bad_json", f"the body is not JSON: {error}")
    except RecursionError:  # valid JSON perhaps, but deeper than any frame needs: refused unparsed
        return json_error(400, "bad_json", "the body is nested too deeply")
    if not isinstance(frame, dict) or not isinstance(frame.get("type"), str):
        return json_error(422, "bad_frame", "the body is a frame: a JSON object with a string type")
    return await _route(request, {"op": "send", "frame": msgspec.json.encode(frame).decode()})


async def close_connection(request: web.Request) -> web.Response:
    if (refusal := _admin_refusal(request)) is not None:
        return refusal
    return await _route(request, {"op": "close"})


async def _route(request: web.Request, command: dict[str, str]) -> web.Response:
    connection_id = request.match_info["connection_id"]
    try:
        routed = await request.app[GATEWAY_SERVICE].route_command({**command, "connectionId": connection_id})
    except RedisError as error:
        return json_error(503, "registry_unavailable", f"the Redis registry does not answer: {error}")
    if not routed:
        return json_error(404, "not_found", f"no open connection {connection_id}")
    return json_response({"connectionId": connection_id, "accepted": True}, status=202)


async def read_api(request: web.Request) -> web.StreamResponse:
    """``/api/<path>`` is ``<READ_API_URL>/<path>``: history from the same origin as the dashboard.

    With auth on, the read API is an analyst's as much as the socket is: the same JWT, as a bearer,
    checked here and passed on, so the read API (which checks it too when its AUTH_ENABLED is on)
    answers the analyst and never the gateway as such.
    """
    if (refusal := bearer_refusal(request.app[GATEWAY_SERVICE].tokens, request)) is not None:
        return refusal
    base = request.app[GATEWAY_SERVICE].settings.read_api_url.rstrip("/")
    target = f"{base}/{request.match_info['path']}"
    forwarded = {name: request.headers[name] for name in FORWARDED_HEADERS if name in request.headers}
    try:
        async with request.app[HTTP_CLIENT].get(target, params=request.query, headers=forwarded) as upstream:
            body = await upstream.read()
            headers = {name: upstream.headers[name] for name in PASSED_HEADERS if name in upstream.headers}
            return web.Response(body=body, status=upstream.status, headers=headers)
    except (aiohttp.ClientError, TimeoutError) as error:
        return json_error(502, "read_api_unavailable", f"the read API did not answer: {error}")


async def dashboard_index(request: web.Request) -> web.StreamResponse:
    index = request.app[DASHBOARD_DIR] / "index.html"
    if not index.is_file():
        return json_error(404, "not_found", "the dashboard is not installed here")
    return web.FileResponse(index, headers={"Cache-Control": "no-cache"})


def default_dashboard_dir() -> Path:
    """The dashboard next to the package's source (services/push-gateway/dashboard)."""
    return Path(__file__).resolve().parents[2] / "dashboard"
