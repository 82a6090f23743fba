"""A scripted stand-in for the push gateway, to test the dashboard page on its own.

It serves what the real gateway serves to a browser (the dashboard folder at ``/``,
uPlot at ``/vendor/...``, the WebSocket at ``/ws``, the read API under ``/api``),
but every frame on the socket is one a test pushes, every client message is
recorded, and the socket can be dropped on demand. The read API answers from
dictionaries the test fills in.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiohttp import WSCloseCode, WSMsgType, web

DASHBOARD = Path(__file__).resolve().parents[2] / "services" / "push-gateway" / "dashboard"
UPLOT_DIST = DASHBOARD / "node_modules" / "uplot" / "dist"
VENDOR_FILES = {"uPlot.iife.min.js": UPLOT_DIST / "uPlot.iife.min.js", "uPlot.min.css": UPLOT_DIST / "uPlot.min.css"}
# Only the dashboard's own top-level files are served: never node_modules or dot files.
DASHBOARD_FILE = re.compile(r"[A-Za-z0-9_-]+\.(?:html|js|css)")

WAIT_SECONDS = 10.0


def missing_vendor_files() -> list[Path]:
    return [path for path in VENDOR_FILES.values() if not path.is_file()]


@dataclass
class Connection:
    """One WebSocket the page opened."""

    client: str
    socket: web.WebSocketResponse
    mode: str  # the ``mode`` query parameter: everything (its default) or subscribed
    messages: list[dict[str, Any]] = field(default_factory=list)  # what the page sent, decoded


class FakeGateway:
    def __init__(self) -> None:
        self.epoch = "epoch-1"
        self.connections: list[Connection] = []
        self.games: dict[str, dict[str, Any]] = {}  # GET /api/v1/games/<id> answers
        self.candles: dict[tuple[str, str, str], dict[str, Any]] = {}  # (game, market, provider) -> candles answer
        self.counts: dict[tuple[str, str], dict[str, Any]] = {}  # (game, resolution) -> counts answer
        self.api_requests: list[str] = []  # path and query of every /api request
        self._changed = asyncio.Condition()

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/ws", self._websocket)
        app.router.add_get("/api/v1/games/{game_id}", self._game)
        app.router.add_get("/api/v1/games/{game_id}/candles", self._candles)
        app.router.add_get("/api/v1/games/{game_id}/counts", self._counts)
        app.router.add_get("/vendor/{name}", self._vendor)
        app.router.add_get("/", self._index)
        app.router.add_get("/{name}", self._dashboard_file)
        return app

    # ---- what tests call

    @property
    def current(self) -> Connection:
        return self.connections[-1]

    async def send(self, frame: dict[str, Any]) -> None:
        """Push one frame to the newest connection."""
        await self.current.socket.send_str(json.dumps(frame))

    async def drop(self, code: int = WSCloseCode.GOING_AWAY) -> None:
        """Close the newest connection as a restarting gateway does (1001 by default)."""
        await self.current.socket.close(code=code, message=b"fake gateway drops the connection")

    async def wait_for_connections(self, count: int) -> Connection:
        """Wait until the page has opened ``count`` sockets in all; returns the newest."""
        await self._wait(lambda: len(self.connections) >= count, f"{count} connection(s)")
        return self.connections[count - 1]

    async def wait_for_message(self, connection: Connection, matches: Callable[[dict[str, Any]], bool],
                               what: str) -> dict[str, Any]:
        """Wait for a client message on ``connection`` for which ``matches`` is true."""
        found: list[dict[str, Any]] = []

        def seen() -> bool:
            found[:] = [message for message in connection.messages if matches(message)]
            return bool(found)

        await self._wait(seen, what)
        return found[0]

    # ---- handlers

    async def _wait(self, condition: Callable[[], bool], what: str) -> None:
        async with self._changed:
            try:
                await asyncio.wait_for(self._changed.wait_for(condition), WAIT_SECONDS)
            except TimeoutError:
                raise AssertionError(f"fake gateway: no {what} within {WAIT_SECONDS} s") from None

    async def _notify(self) -> None:
        async with self._changed:
            self._changed.notify_all()

    async def _websocket(self, request: web.Request) -> web.WebSocketResponse:
        socket = web.WebSocketResponse()
        await socket.prepare(request)
        connection = Connection(client=request.query.get("client", "client"), socket=socket,
                                mode=request.query.get("mode", "everything"))
        self.connections.append(connection)
        await socket.send_str(json.dumps({
            "type": "hello", "connectionId": f"conn-{len(self.connections)}", "serverTime": int(time.time() * 1000),
            "epoch": self.epoch, "replayWindowSeconds": 300,
        }))
        await self._notify()
        async for message in socket:
            if message.type != WSMsgType.TEXT:
                continue
            op = json.loads(message.data)
            connection.messages.append(op)
            if op.get("op") == "ping":
                await socket.send_str(json.dumps({"type": "pong", "id": op.get("id")}))
            await self._notify()
        await self._notify()
        return socket

    async def _game(self, request: web.Request) -> web.Response:
        self.api_requests.append(request.path_qs)
        game = self.games.get(request.match_info["game_id"])
        if game is None:
            return web.json_response({"error": "not_found"}, status=404)
        return web.json_response(game)

    async def _candles(self, request: web.Request) -> web.Response:
        return self._answer(request, self.candles, request.query.get("market", ""), request.query.get("provider", ""))

    async def _counts(self, request: web.Request) -> web.Response:
        return self._answer(request, self.counts, request.query.get("resolution", "minute"))

    def _answer(self, request: web.Request, answers: dict[Any, dict[str, Any]], *by: str) -> web.Response:
        """The answer set for the request's game and ``by`` (its market and provider, its resolution), or 404."""
        self.api_requests.append(request.path_qs)
        answer = answers.get((request.match_info["game_id"], *by))
        if answer is None:
            return web.json_response({"error": "not_found"}, status=404)
        return web.json_response(answer)

    async def _vendor(self, request: web.Request) -> web.StreamResponse:
        path = VENDOR_FILES.get(request.match_info["name"])
        if path is None:
            raise web.HTTPNotFound()
        return web.FileResponse(path)

    async def _index(self, request: web.Request) -> web.StreamResponse:
        return web.FileResponse(DASHBOARD / "index.html")

    async def _dashboard_file(self, request: web.Request) -> web.StreamResponse:
        name = request.match_info["name"]
        if not DASHBOARD_FILE.fullmatch(name) or not (DASHBOARD / name).is_file():
            raise web.HTTPNotFound()
        return web.FileResponse(DASHBOARD / name)
