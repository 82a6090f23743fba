"""``/healthz`` (the process is alive) and ``/readyz`` (its dependencies answer) for aiohttp apps.

Liveness never checks dependencies: restarting a pod because Kafka is down
would not bring Kafka back. Readiness does, so traffic only reaches a replica
that can serve it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Literal

from aiohttp import web

from .http import Body, json_response

ReadinessCheck = Callable[[], Awaitable[None]]
READINESS_CHECKS = web.AppKey("readiness_checks", dict[str, ReadinessCheck])

CHECK_TIMEOUT_SECONDS = 2.0


class Health(Body, kw_only=True):
    status: Literal["ok"] = "ok"


class Readiness(Body, kw_only=True):
    status: Literal["ready", "not ready"]
    checks: dict[str, str]  # each dependency: "ok", or why not


async def healthz(request: web.Request) -> web.Response:
    return json_response(Health())


async def readyz(request: web.Request) -> web.Response:
    checks = request.app[READINESS_CHECKS]
    results = await asyncio.gather(*(_run(check) for check in checks.values()))
    report = dict(zip(checks, results, strict=True))
    ready = all(result == "ok" for result in results)
    return json_response(Readiness(status="ready" if ready else "not ready", checks=report),
                         status=200 if ready else 503)


async def _run(check: ReadinessCheck) -> str:
    try:
        async with asyncio.timeout(CHECK_TIMEOUT_SECONDS):
            await check()
    except TimeoutError:
        return f"timed out after {CHECK_TIMEOUT_SECONDS:g}s"
    except Exception as error:  # any failure means "not ready"; the reason is reported
        return f"{type(error).__name__}: {error}"
    return "ok"


def add_health_routes(app: web.Application, checks: dict[str, ReadinessCheck] | None = None) -> None:
    """Register ``/healthz`` and ``/readyz``; ``checks`` may be extended until the app starts."""
    app[READINESS_CHECKS] = dict(checks or {})
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
