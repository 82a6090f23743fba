"""``/openapi.json`` of the gateway: the WebSocket handshake, the read-API pass-through and the admin routes,
as this process is configured (analysts' auth on or off, the admin token set or not).

The frames that travel over the socket are not HTTP; they are described in docs/push-gateway.md.
"""

from __future__ import annotations

from typing import Any

from sportsfeed_common.openapi import (
    JSON,
    Auth,
    analyst_auth,
    components,
    document,
    operation,
    parameter,
    refusal,
    service_paths,
)

from .settings import GatewaySettings
from .sockets import FRAMINGS, MODES

# What aiohttp's handshake insists on (RFC 6455 4.1): without these a GET to /ws is a 400.
_HANDSHAKE = [
    parameter("Connection", "header", "Upgrade", {"type": "string", "enum": ["Upgrade"]}, required=True),
    parameter("Upgrade", "header", "websocket", {"type": "string", "enum": ["websocket"]}, required=True),
    parameter("Sec-WebSocket-Version", "header", "13", {"type": "string", "enum": ["13"]}, required=True),
    parameter("Sec-WebSocket-Key", "header", "16 random bytes in base64",
              {"type": "string", "pattern": "^[A-Za-z0-9+/]{21}[AQgw]==$"}, required=True),
]


def _admin(settings: GatewaySettings) -> Auth:
    return Auth(scheme_name="admin", scheme={"type": "http", "scheme": "bearer"},
                enabled=settings.admin_token is not None, switch="ADMIN_TOKEN",
                refused="No or a wrong Authorization: Bearer <admin token>.")


_CONNECTION_ID = parameter("connection_id", "path", "The connection's id (from GET /admin/connections)",
                           {"type": "string"})


def _admin_operation(settings: GatewaySettings, admin: Auth, summary: str, responses: dict[str, Any],
                     by_connection: bool = False, **extra: Any) -> dict[str, Any]:
    unavailable = ("The Redis registry does not answer." if settings.admin_token is not None
                   else "ADMIN_TOKEN is not set: the admin routes are off.")
    return operation(summary, {**responses, "503": refusal(unavailable)}, auth=admin,
                     parameters=[_CONNECTION_ID] if by_connection else None, **extra)


def build_openapi(settings: GatewaySettings) -> dict[str, Any]:
    socket_auth = analyst_auth(settings, socket=True)
    read_auth = analyst_auth(settings)
    admin = _admin(settings)
    schemas = components()
    schemas["Frame"] = {"type": "object", "required": ["type"], "properties": {"type": {"type": "string"}},
                        "description": "A frame as the socket sends it (docs/push-gateway.md)"}
    sent = {"type": "object", "required": ["connectionId", "accepted"],
            "properties": {"connectionId": {"type": "string"}, "accepted": {"const": True}}}
    paths = {
        "/ws": {"get": operation(
            "Open the analysts' WebSocket (frames in docs/push-gateway.md)",
            {"101": {"description": "Switching protocols: the socket is open and sends hello first."},
             "400": refusal("Not a WebSocket handshake, or an unknown mode or frames."),
             "403": refusal("The Origin is not in ALLOWED_ORIGINS, or the token is another client's."),
             "503": refusal("The gateway is still reading its replay window from Kafka; retry after Retry-After.")},
            auth=socket_auth,
            parameters=[
                parameter("client", "query", "The client's id (with auth on, the token's sub)", {"type": "string"}),
                parameter("mode", "query", "everything (default): every update until the first subscribe; "
                          "subscribed: nothing until the client subscribes", {"type": "string", "enum": list(MODES)}),
                parameter("frames", "query", "one (default): a JSON object per message; batch: what waits goes "
                          "as one message, the JSON objects separated by newlines",
                          {"type": "string", "enum": list(FRAMINGS)}),
                *_HANDSHAKE,
            ])},
        "/api/{path}": {"get": operation(
            "The persistence read API, passed through (its own document lists the paths)",
            {"200": {"description": "As the read API answers.", "content": {JSON: {}}},
             "400": refusal("The read API refused a parameter."),
             "404": refusal("No such read API route, or no such game."),
             "405": refusal("The read API has no such method there."),
             "502": refusal("The read API did not answer."),
             "503": refusal("The read API's storage did not answer; retry after Retry-After.")},
            auth=read_auth,
            parameters=[parameter("path", "path", "A read API path, for example v1/games/game-1/odds",
                                  {"type": "string", "pattern": "^[A-Za-z0-9._~-]+(/[A-Za-z0-9._~-]+)*$"})])},
        "/admin/connections": {"get": _admin_operation(settings, admin, "All active connections of all replicas", {
            "200": {"description": "The connections.", "content": {JSON: {"schema": {
                "type": "object", "required": ["connections", "count"],
                "properties": {"connections": {"type": "array"}, "count": {"type": "integer", "minimum": 0}}}}}}})},
        "/admin/connections/{connection_id}/messages": {"post": _admin_operation(
            settings, admin, "Send a frame to a connection", by_connection=True, responses={
                "202": {"description": "Passed to the replica that owns the socket.",
                        "content": {JSON: {"schema": sent}}},
                "400": refusal("The body is not JSON."),
                "404": refusal("No open connection with this id."),
                "422": refusal("The body is not a frame (an object with a string type).")},
            request="Frame")},
        "/admin/connections/{connection_id}": {"delete": _admin_operation(
            settings, admin, "Close a connection", by_connection=True, responses={
                "202": {"description": "Passed to the replica that owns the socket.",
                        "content": {JSON: {"schema": sent}}},
                "404": refusal("No open connection with this id.")})},
        **service_paths("the replay window is read from Kafka"),
        "/": {"get": operation("The analysts' dashboard.", {
            "200": {"description": "Its page.", "content": {"text/html": {"schema": {"type": "string"}}}},
            "404": refusal("The dashboard is not installed here.")})},
    }
    return document("sportsfeed push gateway",
                    "Live odds over a WebSocket at /ws with resume and slow-client handling, the read API "
                    "under /api, admin routes, and the analysts' dashboard at /.", paths, schemas,
                    [socket_auth, read_auth, admin])

