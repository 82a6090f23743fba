"""Fakes at the edge for the provider tools' unit tests: an ingest that answers as told, a clock."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import msgspec
from aiohttp import web


@dataclass
class Seen:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return msgspec.json.decode(self.body)


@dataclass
class FakeIngest:
    """Answers from a script of (status, body, headers), then 202 with the item count; records every request.

    A ``str`` body is sent as plain text, anything else as JSON.
    """

    url: str = ""
    script: list[tuple[int, Any, dict[str, str]]] = field(default_factory=list)
    requests: list[Seen] = field(default_factory=list)

    def then(self, status: int, body: Any = None, headers: dict[str, str] | None = None) -> FakeIngest:
        self.script.append((status, body, headers or {}))
        return self

    def paths(self) -> list[str]:
        return [f"{seen.method} {seen.path}" for seen in self.requests]

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        self.requests.append(Seen(request.method, request.path, dict(request.headers), body))
        if self.script:
            status, answer, headers = self.script.pop(0)
            if isinstance(answer, str):
                return web.Response(text=answer, status=status, headers=headers)
            return web.json_response(answer, status=status, headers=headers)
        items = next(iter(msgspec.json.decode(body).values()))
        return web.json_response({"accepted": len(items)}, status=202)

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self.handle)
        return app


class FakeTime:
    """A clock that moves only when something sleeps, and remembers every sleep."""

    def __init__(self, start: float = 1000.0) -> None:
        self.value = start
        self.sleeps: list[float] = []

    def now(self) -> float:
        return self.value

    async def sleep(self, seconds: float) -> None:
        assert seconds >= 0
        self.sleeps.append(seconds)
        self.value += seconds
