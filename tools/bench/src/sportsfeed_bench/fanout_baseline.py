"""The gateway benchmark's baseline: the least a Kafka-to-WebSocket broadcaster in aiohttp does.

Every record of ``odds.live`` goes, as the very ``odds`` frame the gateway would send, to every
open socket in turn: no subscriptions, no book, no replay window, no queue per socket, no
registry. This is the reference's broadcast done in aiohttp, on the same event loop (uvloop)
and with the same listen backlog as the gateway. A new socket gets a ``hello`` frame, and
shutdown closes every socket with GOING_AWAY, so the benchmark's analysts treat both servers
alike.

Run: ``python -m sportsfeed_bench.fanout_baseline --port P --bootstrap HOST:PORT``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
from collections.abc import AsyncIterator

import uvloop
from aiohttp import WSCloseCode, WSMsgType, web
from aiokafka import AIOKafkaConsumer, TopicPartition
from sportsfeed_common.topics import NOT_LIVE_HEADER, ODDS_LIVE

ODDS_PREFIX = b'{"type":"odds",'
HELLO = b'{"type":"hello"}'
SOCKETS = web.AppKey("sockets", set)
READY = web.AppKey("ready", asyncio.Event)


async def websocket(request: web.Request) -> web.StreamResponse:
    socket = web.WebSocketResponse()
    await socket.prepare(request)
    sockets = request.app[SOCKETS]
    sockets.add(socket)
    try:
        await socket.send_frame(HELLO, WSMsgType.TEXT)
        async for _ in socket:  # what clients send is ignored
            pass
    finally:
        sockets.discard(socket)
    return socket


async def broadcast(bootstrap: str, sockets: set[web.WebSocketResponse], ready: asyncio.Event) -> None:
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        partitions = [TopicPartition(ODDS_LIVE.name, p) for p in range(ODDS_LIVE.partitions)]
        consumer.assign(partitions)
        await consumer.seek_to_end(*partitions)
        for partition in partitions:
            await consumer.position(partition)  # the seek is lazy: resolve it before saying ready
        ready.set()
        while True:
            for records in (await consumer.getmany(timeout_ms=100)).values():
                for record in records:
                    if NOT_LIVE_HEADER in record.headers:
                        continue  # not new when sequenced, for storage only: the gateway skips these too
                    frame = ODDS_PREFIX + record.value[1:]
                    for socket in list(sockets):
                        with contextlib.suppress(ConnectionError):
                            await socket.send_frame(frame, WSMsgType.TEXT)
    finally:
        await consumer.stop()


async def readyz(request: web.Request) -> web.Response:
    return web.Response(status=200 if request.app[READY].is_set() else 503)


def create_app(bootstrap: str) -> web.Application:
    app = web.Application()
    app[SOCKETS] = set()
    app[READY] = asyncio.Event()
    app.router.add_get("/ws", websocket)
    app.router.add_get("/readyz", readyz)

    async def reader(app: web.Application) -> AsyncIterator[None]:
        task = asyncio.create_task(broadcast(bootstrap, app[SOCKETS], app[READY]))
        yield
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)

    async def going_away(app: web.Application) -> None:
        await asyncio.gather(*(socket.close(code=WSCloseCode.GOING_AWAY) for socket in list(app[SOCKETS])),
                             return_exceptions=True)

    app.cleanup_ctx.append(reader)
    app.on_shutdown.append(going_away)
    return app


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--bootstrap", required=True)
    parser.add_argument("--backlog", type=int, required=True, help="the listen backlog (the gateway's)")
    args = parser.parse_args()
    uvloop.install()
    web.run_app(create_app(args.bootstrap), host="127.0.0.1", port=args.port, backlog=args.backlog,
                access_log=None, print=None)


if __name__ == "__main__":
    main()
