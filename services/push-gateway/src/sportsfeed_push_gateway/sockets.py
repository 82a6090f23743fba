"""``GET /ws``: one analyst's socket, from the upgrade to the close.

Refusals before the upgrade are plain HTTP (403 bad Origin, 401 bad token,
503 not warm yet); once upgraded, bad frames get ``error`` frames and the
socket stays open.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from socket import SO_SNDBUF, SOL_SOCKET

from aiohttp import WSMsgType, web
from sportsfeed_common.http import json_error
from sportsfeed_common.times import now_millis

from .auth import Refused, check_origin, socket_client
from .frames import (
    BadFrame,
    Ping,
    Subscribe,
    Unsubscribe,
    decode_op,
    error_frame,
    hello_frame,
    pong_frame,
)
from .hub import CLOSE_TOO_MANY_CONNECTIONS, Connection, write_frames
from .outbox import Outbox
from .service import GATEWAY_SERVICE, GatewayService

log = logging.getLogger(__name__)

WARM_WAIT_SECONDS = 30.0
HEARTBEAT_SECONDS = 30.0
# aiohttp closes the socket (1009) past this; frames between max_client_frame_bytes and this get an
# error frame instead, so a client that sends one oversized frame by mistake keeps its socket.
HARD_FRAME_LIMIT_BYTES = 1_048_576
# ``/ws?mode=``: ``everything`` (the reference's behaviour: every update until the first subscribe) or
# ``subscribed`` (nothing but hello until the client subscribes, so a resume never races the firehose).
MODES = ("everything", "subscribed")
# ``/ws?frames=``: ``one`` (a JSON object per WebSocket message, as the reference sent them) or ``batch``
# (everything waiting in the socket's outbox as one message, the frames separated by newlines: one
# write and one WebSocket header for many frames, the most a busy fan-out saves per message).
FRAMINGS = ("one", "batch")
# While a client sends past its allowance, one rate_limited error per this interval answers it.
RATE_NOTICE_SECONDS = 1.0


class FrameRate:
    """A token bucket per socket: a burst of a second's allowance, refilled continuously.

    Every data frame counts, text or binary. Frames past the allowance are dropped; the client
    hears so at most once per :data:`RATE_NOTICE_SECONDS`, so a flood costs the gateway a bucket
    check per frame and never an answer per frame.
    """

    def __init__(self, per_second: int) -> None:
        self._rate = per_second
        self._tokens = float(per_second)
        self._last = time.monotonic()
        self._last_notice = float("-inf")

    def allow(self) -> bool:
        now = time.monotonic()
        self._tokens = min(self._rate, self._tokens + (now - self._last) * self._rate)
        self._last = now
        if self._tokens < 1:
            return False
        self._tokens -= 1
        return True

    def notice_due(self) -> bool:
        """Whether a refused frame is answered with ``rate_limited`` (once per notice interval)."""
        if self._last - self._last_notice < RATE_NOTICE_SECONDS:
            return False
        self._last_notice = self._last
        return True


async def websocket(request: web.Request) -> web.StreamResponse:
    service = request.app[GATEWAY_SERVICE]
    settings = service.settings
    requested_client = request.query.get("client")
    mode = request.query.get("mode", "everything")
    if mode not in MODES:
        return json_error(400, "bad_mode", f"mode is one of {', '.join(MODES)}, not {mode[:40]!r}")
    framing = request.query.get("frames", "one")
    if framing not in FRAMINGS:
        return json_error(400, "bad_frames", f"frames is one of {', '.join(FRAMINGS)}, not {framing[:40]!r}")
    try:
        check_origin(request.headers.get("Origin"), service.allowed_origins)
        client_id = (socket_client(service.tokens, request.query.get("token"), requested_client)
                     if service.tokens is not None else requested_client or "client")
    except Refused as refusal:
        service.metrics.refused.labels(refusal.reason).inc()
        return json_error(refusal.status, f"bad_{refusal.reason}", str(refusal))
    try:
        await asyncio.wait_for(service.feed.warm.wait(), WARM_WAIT_SECONDS)
    except TimeoutError:
        service.metrics.refused.labels("not_ready").inc()
        return json_error(503, "not_ready", "the gateway is still reading the replay window from Kafka",
                          headers={"Retry-After": "5"})

    socket = web.WebSocketResponse(heartbeat=HEARTBEAT_SECONDS, max_msg_size=HARD_FRAME_LIMIT_BYTES)
    await socket.prepare(request)
    limit_kernel_buffering(request, settings.socket_send_buffer_bytes)
    connection = Connection(id=uuid.uuid4().hex, client_id=client_id, socket=socket,
                            outbox=Outbox(settings.queue_soft_limit, settings.queue_hard_limit,
                                          service.metrics.conflated.inc),
                            connected_at_ms=now_millis(), everything=mode == "everything",
                            batched=framing == "batch")
    if await service.too_many_connections(client_id):
        service.metrics.refused.labels("too_many_connections").inc()
        await socket.send_str(error_frame("too_many_connections", (
            f"client {client_id} already has {settings.max_connections_per_client} connections")).decode())
        await socket.close(code=CLOSE_TOO_MANY_CONNECTIONS, message=b"too many connections for this client")
        return socket
    await serve(service, connection)
    return socket


def limit_kernel_buffering(request: web.Request, send_buffer_bytes: int) -> None:
    raw = request.transport.get_extra_info("socket") if request.transport is not None else None
    if raw is not None:
        raw.setsockopt(SOL_SOCKET, SO_SNDBUF, send_buffer_bytes)


async def serve(service: GatewayService, connection: Connection) -> None:
    socket = connection.socket
    connection.outbox.put(hello_frame(connection.id, now_millis(), service.settings.stream_epoch,
                                      service.settings.replay_window_seconds))
    service.connected(connection)
    writer = asyncio.create_task(write_frames(connection), name=f"writer-{connection.id}")
    rate = FrameRate(service.settings.client_frames_per_second)
    try:
        async for message in socket:
            if message.type not in (WSMsgType.TEXT, WSMsgType.BINARY):
                continue
            if not rate.allow():
                if rate.notice_due():
                    reply_error(service, connection, "rate_limited", (
                        f"at most {service.settings.client_frames_per_second} frames per second; frames past "
                        f"it are dropped unanswered (this notice comes at most once a second)"))
            elif message.type == WSMsgType.BINARY:
                reply_error(service, connection, "bad_frame", "frames are JSON text, not binary")
            elif len(message.data) > service.settings.max_client_frame_bytes:
                reply_error(service, connection, "too_large", (
                    f"frames are at most {service.settings.max_client_frame_bytes} bytes"))
            else:
                handle_text(service, connection, message.data)
    finally:
        # aiohttp cancels this handler once the socket is closed, so nothing here may await:
        # the cleanup that needs Redis runs in the background.
        writer.cancel()
        service.disconnected(connection)


def handle_text(service: GatewayService, connection: Connection, text: str) -> None:
    try:
        op = decode_op(text)
    except BadFrame as bad:
        reply_error(service, connection, bad.code, str(bad))
        return
    if isinstance(op, Subscribe):
        service.subscribe(connection, op)
    elif isinstance(op, Unsubscribe):
        service.hub.unsubscribe(connection, op.games, op.sports)
        service.subscriptions_changed(connection)
    elif isinstance(op, Ping):
        service.hub.send_to(connection, pong_frame(op.id))


def reply_error(service: GatewayService, connection: Connection, code: str, message: str) -> None:
    service.metrics.client_errors.labels(code).inc()
    service.hub.send_to(connection, error_frame(code, message))
