"""What every HTTP service of the platform shares: JSON bodies and JSON errors (``/openapi.json`` is in
:mod:`sportsfeed_common.openapi`).

Every refusal is JSON: ``{"error": code, "message": text}``, plus ``errors``
per item where a request carries several items. aiohttp's own plain-text
refusals (404, 405, 413...) and crashes are turned into the same shape.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from http import HTTPStatus
from typing import Any

import msgspec
from aiohttp import web

log = logging.getLogger(__name__)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class Body(msgspec.Struct, rename="camel", kw_only=True):
    """Base of every JSON response body: camelCase on the wire, like the events."""


class ItemError(Body, kw_only=True):
    """One refused item: its position in the batch (null for the request as a whole), field, reason."""

    index: int | None
    field: str | None
    reason: str


class ErrorBody(Body, kw_only=True, omit_defaults=True):
    error: str
    message: str
    errors: list[ItemError] | None = None  # only where a request carries several items (422)


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    """``body`` is anything msgspec encodes: a :class:`Body`, or plain dicts and lists."""
    return web.Response(
        body=msgspec.json.encode(body), status=status, content_type="application/json", headers=headers
    )


def json_error(
    status: int,
    code: str,
    message: str,
    *,
    errors: list[ItemError] | None = None,
    headers: dict[str, str] | None = None,
) -> web.Response:
    return json_response(ErrorBody(error=code, message=message, errors=errors), status, headers)


def _code_for(status: int) -> str:
    return HTTPStatus(status).phrase.lower().replace(" ", "_").replace("-", "_")


async def handle_with_json_errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Run ``handler``; turn aiohttp's own plain-text refusals (404, 405, 413...) and crashes into JSON errors."""
    try:
        return await handler(request)
    except web.HTTPException as refusal:
        if refusal.status < 400 or refusal.content_type == "application/json":
            raise
        # aiohttp's default text is "404: Not Found"; its own messages (body too large) say more.
        message = (refusal.text or "").removeprefix(f"{refusal.status}: ") or refusal.reason
        return json_error(
            refusal.status,
            _code_for(refusal.status),
            message,
            headers={k: v for k, v in refusal.headers.items() if k in ("Allow", "Retry-After")},
        )
    except Exception:
        log.exception("unhandled error", extra={"path": request.path})
        return json_error(500, "internal_error", "the server failed; nothing from this request was accepted")
