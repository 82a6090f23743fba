"""An analyst's WebSocket for tests: frames collected in the background, waits with deadlines."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import socket
import struct
from collections.abc import Callable
from typing import Any

import aiohttp
from sportsfeed_devstack.waiting import wait_until_async


class Analyst:
    def __init__(self, session: aiohttp.ClientSession, socket: aiohttp.ClientWebSocketResponse) -> None:
        self.session = session
        self.socket = socket
        self.frames: list[dict[str, Any]] = []
        self.messages = 0  # WebSocket messages: with frames=batch one can carry several frames
        self.close_code: int | None = None
        self._reader = asyncio.create_task(self._read())

    @classmethod
    async def connect(cls, base_url: str, query: str = "client=analyst", **options: Any) -> Analyst:
        session = aiohttp.ClientSession()
        try:
            socket = await session.ws_connect(f"{base_url}/ws?{query}", autoping=True, **options)
        except BaseException:
            await session.close()
            raise
        return cls(session, socket)

    async def _read(self) -> None:
        async for message in self.socket:
            if message.type == aiohttp.WSMsgType.TEXT:
                self.messages += 1
                # A frame is one JSON object, never holding a raw newline; frames=batch joins them with one.
                self.frames.extend(json.loads(frame) for frame in message.data.split("\n"))
        self.close_code = self.socket.close_code

    async def send(self, frame: dict[str, Any] | str | bytes) -> None:
        if isinstance(frame, bytes):
            await self.socket.send_bytes(frame)
        else:
            await self.socket.send_str(frame if isinstance(frame, str) else json.dumps(frame))

    async def close(self) -> None:
        await self.socket.close()
        await asyncio.gather(self._reader, return_exceptions=True)
        await self.session.close()

    def of_type(self, kind: str) -> list[dict[str, Any]]:
        return [frame for frame in self.frames if frame.get("type") == kind]

    def seqs(self, game_id: str) -> list[int]:
        return [frame["seq"] for frame in self.of_type("odds") if frame["gameId"] == game_id]

    async def wait_for(self, condition: Callable[[Analyst], Any], what: str, timeout: float = 30) -> Any:
        async def check() -> Any:
            if self._reader.done() and not condition(self):
                raise AssertionError(f"the socket closed ({self.close_code}) before {what}; "
                                     f"last frames: {self.frames[-5:]}")
            return condition(self)

        return await wait_until_async(check, timeout=timeout, interval=0.02, what=what)

    async def wait_closed(self, timeout: float = 30) -> int | None:
        async with asyncio.timeout(timeout):
            await asyncio.gather(self._reader, return_exceptions=True)
        return self.close_code


class StalledReader:
    """A WebSocket client that completes the handshake and then reads nothing, with a tiny receive
    buffer: the gateway's writer for it blocks almost at once, as with an analyst on a dead link.

    Built on a raw socket because client libraries keep reading into memory behind the caller's back.
    """

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._reader = reader
        self._writer = writer

    @classmethod
    async def connect(cls, host: str, port: int, path: str) -> StalledReader:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        sock.setblocking(False)
        await asyncio.get_running_loop().sock_connect(sock, (host, port))
        reader, writer = await asyncio.open_connection(sock=sock, limit=2**16)
        key = base64.b64encode(os.urandom(16)).decode()
        writer.write((f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                      f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n").encode())
        await writer.drain()
        status = await reader.readuntil(b"\r\n\r\n")
        if not status.startswith(b"HTTP/1.1 101"):
            raise AssertionError(f"the upgrade was refused: {status.decode(errors='replace')}")
        return cls(reader, writer)

    async def read_until_close(self) -> tuple[int, list[bytes]]:
        """Read on at last: every text frame, then the close frame's code."""
        texts: list[bytes] = []
        while True:
            opcode, payload = await self._next_message()
            if opcode == 0x8:
                return struct.unpack("!H", payload[:2])[0], texts
            if opcode == 0x1:
                texts.append(payload)

    async def read_until(self, done: Callable[[list[dict[str, Any]]], bool], timeout: float = 60) -> list[dict]:
        """Read on at last: the frames (JSON) of every text message until ``done`` holds for them."""
        frames: list[dict[str, Any]] = []
        async with asyncio.timeout(timeout):
            while not done(frames):
                opcode, payload = await self._next_message()
                if opcode == 0x8:
                    raise AssertionError(f"closed ({struct.unpack('!H', payload[:2])[0]}) after {frames[-5:]}")
                if opcode == 0x1:
                    frames.extend(json.loads(frame) for frame in payload.split(b"\n"))
        return frames

    async def _next_message(self) -> tuple[int, bytes]:
        """The opcode and payload of the next (unmasked, unfragmented) WebSocket frame from the server."""
        head = await self._reader.readexactly(2)
        opcode, length = head[0] & 0x0F, head[1] & 0x7F
        if length == 126:
            length = struct.unpack("!H", await self._reader.readexactly(2))[0]
        elif length == 127:
            length = struct.unpack("!Q", await self._reader.readexactly(8))[0]
        return opcode, await self._reader.readexactly(length)

    def close(self) -> None:
        self._writer.close()
