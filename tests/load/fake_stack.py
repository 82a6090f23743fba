"""A stand-in for ingest and the push gateway, in one aiohttp app, for running the locustfile in a test.

Bodies are validated by ingest's own functions, and every accepted update is pushed at once
as an ``odds`` frame with the next seq of its game (the processor's rule: only a ts later than
the last of the same provider and market gets one), to sockets subscribed as the gateway's
protocol says, with replay from ``since``.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import msgspec
from aiohttp import web
from sportsfeed_common.events import OddsUpdate, now_millis
from sportsfeed_ingest.payloads import (
    Context,
    InvalidBatch,
    validate_odds,
    validate_reference_feed,
)

PROVIDER = "loadtest"
MAX_FUTURE_SKEW = timedelta(seconds=300)


@dataclass
class FakeStack:
    api_key: str
    frames: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))  # game -> frames, seq 1 first
    last_ts: dict[tuple[str, str], datetime] = field(default_factory=dict)  # (game, market) -> ts
    # Each socket's games and outbox: frames are queued without an await, so they keep their order.
    subscribers: dict[asyncio.Queue[str], set[str]] = field(default_factory=dict)
    refused: list[str] = field(default_factory=list)  # why requests were refused, for the test to show

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/v1/odds", self._handler(validate_odds))
        app.router.add_put("/feeds", self._handler(validate_reference_feed))
        app.router.add_get("/ws", self.socket)
        return app

    def _handler(self, validate: Callable[[bytes, Context], list[OddsUpdate]]) -> Callable:
        async def accept(request: web.Request) -> web.Response:
            if request.headers.get("X-API-Key") != self.api_key:
                self.refused.append("bad key")
                return web.json_response({"error": "unauthorized"}, status=401)
            context = Context.at(PROVIDER, datetime.now(UTC), max_items=500, max_future_skew=MAX_FUTURE_SKEW)
            try:
                updates = validate(await request.read(), context)
            except InvalidBatch as error:
                self.refused.append(repr(error.errors))
                return web.json_response({"error": "invalid_items"}, status=422)
            for update in updates:
                self._push(update)
            return web.json_response({"accepted": len(updates), "ids": [u.id for u in updates]}, status=202)

        return accept

    def _push(self, update: OddsUpdate) -> None:
        key = (update.game_id, update.market)
        if key in self.last_ts and update.ts <= self.last_ts[key]:
            return  # the processor's rule: not new, never pushed
        self.last_ts[key] = update.ts
        history = self.frames[update.game_id]
        stamp = now_millis()
        trace = {"ingestedAt": update.trace.ingested_at, "storedAt": stamp, "processedAt": stamp, "pushedAt": stamp}
        frame = msgspec.json.encode({"type": "odds", "gameId": update.game_id, "seq": len(history) + 1,
                                     "market": update.market, "trace": trace}).decode()
        history.append(frame)
        for outbox, games in self.subscribers.items():
            if update.game_id in games:
                outbox.put_nowait(frame)

    async def socket(self, request: web.Request) -> web.WebSocketResponse:
        socket = web.WebSocketResponse()
        await socket.prepare(request)
        outbox: asyncio.Queue[str] = asyncio.Queue()
        outbox.put_nowait(msgspec.json.encode({"type": "hello", "connectionId": "fake", "epoch": "1"}).decode())
        self.subscribers[outbox] = set()
        writer = asyncio.create_task(self._write(socket, outbox))
        try:
            async for message in socket:
                op = msgspec.json.decode(message.data)
                for game, since in op.get("since", {}).items():
                    snapshot = {"type": "snapshot", "gameId": game, "seq": since, "recovered": True, "markets": []}
                    outbox.put_nowait(msgspec.json.encode(snapshot).decode())
                    for frame in self.frames[game][since:]:
                        outbox.put_nowait(frame)
                    self.subscribers[outbox].add(game)
        finally:
            del self.subscribers[outbox]
            writer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await writer
        return socket

    @staticmethod
    async def _write(socket: web.WebSocketResponse, outbox: asyncio.Queue[str]) -> None:
        while True:
            await socket.send_str(await outbox.get())
