"""Response bodies of the provider API. The handlers encode these very types, and
``/openapi.json`` is generated from them, so the document cannot drift from behaviour."""

from __future__ import annotations

import msgspec
from aiohttp import web


class Response(msgspec.Struct, rename="camel", kw_only=True):
    pass


class OddsAccepted(Response, kw_only=True):
    accepted: int
    ids: list[str]


class FeedsAccepted(Response, kw_only=True):
    message: str = "Feeds Added Successfully"
    accepted: int
    ids: list[str]


class GamesAccepted(Response, kw_only=True):
    accepted: int
    game_ids: list[str]


class ItemError(Response, kw_only=True):
    """One refused item: its position in the batch (null for the body as a whole), field, reason."""

    index: int | None
    field: str | None
    reason: str


class ErrorBody(Response, kw_only=True, omit_defaults=True):
    error: str
    message: str
    errors: list[ItemError] | None = None  # only on 422


def json_response(body: Response, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    return web.Response(
        body=msgspec.json.encode(body), status=status, content_type="application/json", headers=headers
    )
