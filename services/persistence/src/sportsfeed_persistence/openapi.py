"""``/openapi.json`` of the read API, generated from the response types the handlers encode."""

from __future__ import annotations

from typing import Any

import msgspec
from sportsfeed_common.events import Game
from sportsfeed_common.http import (
    SCHEMA_REF,
    ErrorBody,
    ecma_patterns,
    plain_operation,
    schema_ref,
)
from sportsfeed_common.ids import GAME_ID_PATTERN, NAME_PATTERN

from .history import DEFAULT_LIMIT, MAX_LIMIT
from .queries import MAX_CURSOR_LENGTH
from .responses import CandlesPage, CountsPage, CountTotals, GamesPage, OddsPage, StoredOdds

_TIME = {"type": "string", "description": "ISO-8601 with a time zone, or epoch milliseconds"}


def _parameter(name: str, where: str, description: str, schema: dict[str, Any] | None = None,
               required: bool = False) -> dict[str, Any]:
    return {"name": name, "in": where, "required": required or where == "path", "description": description,
            "schema": schema or {"type": "string"}}


_GAME_ID_SCHEMA = {"type": "string", "pattern": f"^{GAME_ID_PATTERN}$"}
_NAME_SCHEMA = {"type": "string", "pattern": f"^{NAME_PATTERN}$"}
_GAME_ID = _parameter("gameId", "path", "The game, game-<id>", _GAME_ID_SCHEMA)
_WINDOW = [
    _parameter("from", "query", "Earliest time included (default: the beginning)", _TIME),
    _parameter("to", "query", "Latest time included (default: the end of time)", _TIME),
    _parameter("limit", "query", f"Items per page, 1 to {MAX_LIMIT} (default {DEFAULT_LIMIT})",
               {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT}),
    _parameter("cursor", "query", "nextCursor of the previous page, to continue the same query",
               {"type": "string", "maxLength": MAX_CURSOR_LENGTH}),
]
_TOTALS = [
    _parameter("from", "query", "Earliest time included", _TIME, required=True),
    _parameter("to", "query", "Latest time included, at most 48 hours after from", _TIME, required=True),
    _parameter("resolution", "query", "minute (the default) or hour",
               {"type": "string", "enum": ["minute", "hour"]}),
]


# Every read route: the analyst's JWT while AUTH_ENABLED is on, nothing while it is off.
ANALYST: list[dict[str, list[str]]] = [{"analyst": []}]
SECURITY_SCHEMES = {"analyst": {
    "type": "http", "scheme": "bearer", "bearerFormat": "JWT",
    "description": "The analyst's JWT (HS256 with JWT_SECRET, sub and exp required, aud when JWT_AUDIENCE is "
                   "set), required when AUTH_ENABLED is true; the push gateway's /api passes the analyst's on."}}


def _read(summary: str, body: str, parameters: list[dict[str, Any]], not_found: str | None = None) -> dict[str, Any]:
    error = {"content": {"application/json": {"schema": schema_ref("ErrorBody")}}}
    responses: dict[str, Any] = {
        "200": {"description": summary, "content": {"application/json": {"schema": schema_ref(body)}}},
        "400": {"description": "A parameter is malformed or unknown; the error names it. A request line over "
                               "8 KiB is refused before it reaches the API, in plain text.",
                "content": {**error["content"], "text/plain": {"schema": {"type": "string"}}}},
    }
    if not_found:
        responses["404"] = {"description": not_found, **error}
    responses["401"] = {"description": "AUTH_ENABLED is on and the request has no valid analyst JWT "
                                       "(Authorization: Bearer <jwt>); answered with WWW-Authenticate: Bearer.",
                        **error}
    return {"get": {"summary": summary, "parameters": parameters, "responses": responses, "security": ANALYST}}


def build_openapi() -> dict[str, Any]:
    (_, components) = msgspec.json.schema_components(
        [Game, StoredOdds, GamesPage, OddsPage, CandlesPage, CountsPage, CountTotals, ErrorBody], ref_template=SCHEMA_REF)
    components["ReferenceOddsItem"] = {
        "type": "object",
        "description": "The latest odds item as stored (PK, SK, AWAY, HOME, AWAYODDS, HOMEODDS, CREATED, EXPIRE...)",
        "additionalProperties": True,
    }
    unknown_game = "No game with this id (neither details nor odds)."
    document = {
        "openapi": "3.1.0",
        "info": {"title": "sportsfeed read API", "version": "1",
                 "description": "History of every stored price, game details, per-minute candles and feed counts. "
                                "Every request is one DynamoDB Query or GetItem."},
        "paths": {
            "/feeds": _read("The latest odds of a game, in the reference system's shape", "ReferenceOddsItem",
                            [_parameter("game", "query", "The game, game-<id>", _GAME_ID_SCHEMA, required=True)],
                            "The game has no odds (or does not exist)."),
            "/v1/games": _read("Scheduled games by date, earliest first", "GamesPage",
                               [_parameter("status", "query", "Only 'scheduled' (the default)",
                                           {"type": "string", "enum": ["scheduled"]}), *_WINDOW]),
            "/v1/games/{gameId}": _read("Game details", "Game", [_GAME_ID], "No details for this game."),
            "/v1/games/{gameId}/odds": _read("Odds of a game in a time range, oldest first", "OddsPage",
                                             [_GAME_ID, *_WINDOW], unknown_game),
            "/v1/games/{gameId}/odds/latest": _read("The newest odds update of a game", "StoredOdds", [_GAME_ID],
                                                    "The game has no odds (or does not exist)."),
            "/v1/games/{gameId}/candles": _read(
                "Per-minute open/high/low/close per side of one provider's prices of one market, oldest first",
                "CandlesPage",
                [_GAME_ID, _parameter("market", "query", "The market, for example spread", _NAME_SCHEMA, required=True),
                 _parameter("provider", "query", "The provider whose prices, for example sim", _NAME_SCHEMA,
                            required=True),
                 *_WINDOW],
                unknown_game),
            "/v1/providers/{provider}/counts": _read(
                "Exact updates per minute from a provider, oldest first", "CountsPage",
                [_parameter("provider", "path", "The provider id", _NAME_SCHEMA), *_WINDOW]),
            "/v1/providers/{provider}/counts/totals": _read(
                "Exact updates per minute or per hour from a provider, oldest first, at most 48 hours at once",
                "CountTotals", [_parameter("provider", "path", "The provider id", _NAME_SCHEMA), *_TOTALS]),
            "/v1/games/{gameId}/counts": _read(
                "Exact updates per minute or per hour of a game, oldest first, at most 48 hours at once",
                "CountTotals", [_GAME_ID, *_TOTALS], unknown_game),
            "/healthz": plain_operation("The process is alive."),
            "/readyz": plain_operation("DynamoDB answers (503 otherwise)."),
            "/metrics": plain_operation("Prometheus metrics.", "text/plain"),
            "/openapi.json": plain_operation("This document."),
        },
        "components": {"schemas": components, "securitySchemes": SECURITY_SCHEMES},
    }
    return ecma_patterns(document)
