"""``/openapi.json`` of the read API, generated from the response types the handlers encode and the
rules :mod:`.queries` checks parameters with."""

from __future__ import annotations

from typing import Any

from sportsfeed_common import openapi
from sportsfeed_common.events import Game
from sportsfeed_common.ids import GAME_ID_PATTERN, MARKET_PATTERN, PROVIDER_ID_PATTERN
from sportsfeed_common.jwt_auth import AnalystAuthSettings
from sportsfeed_common.openapi import Auth

from .history import DEFAULT_LIMIT, MAX_LIMIT
from .queries import MAX_CURSOR_LENGTH, TIME_SCHEMA
from .responses import CandlesPage, CountsPage, CountTotals, GamesPage, OddsPage, StoredOdds

_TIME = TIME_SCHEMA

_GAME_ID_SCHEMA = {"type": "string", "pattern": f"^{GAME_ID_PATTERN}$"}
_PROVIDER_SCHEMA = {"type": "string", "pattern": f"^{PROVIDER_ID_PATTERN}$"}
_MARKET_SCHEMA = {"type": "string", "pattern": f"^{MARKET_PATTERN}$"}
_GAME_ID = openapi.parameter("gameId", "path", "The game, game-<id>", _GAME_ID_SCHEMA)
_WINDOW = [
    openapi.parameter("from", "query", "Earliest time included (default: the beginning)", _TIME),
    openapi.parameter("to", "query", "Latest time included (default: the end of time)", _TIME),
    openapi.parameter(
        "limit",
        "query",
        f"Items per page, 1 to {MAX_LIMIT} (default {DEFAULT_LIMIT})",
        {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT},
    ),
    openapi.parameter(
        "cursor",
        "query",
        "nextCursor of the previous page, to continue the same query",
        {"type": "string", "maxLength": MAX_CURSOR_LENGTH},
    ),
]
_TOTALS = [
    openapi.parameter("from", "query", "Earliest time included", _TIME, required=True),
    openapi.parameter("to", "query", "Latest time included, at most 48 hours after from", _TIME, required=True),
    openapi.parameter(
        "resolution", "query", "minute (the default) or hour", {"type": "string", "enum": ["minute", "hour"]}
    ),
]


def _read(
    auth: Auth,
    operation_id: str,
    summary: str,
    body: str,
    parameters: list[dict[str, Any]],
    not_found: str | None = None,
    links: dict[str, Any] | None = None,
) -> dict[str, Any]:
    responses: dict[str, Any] = {
        "200": {**openapi.json_body(body, summary), **({"links": links} if links else {})},
        "400": {
            "description": "A parameter is malformed or unknown; the error names it. A request line over "
            "8 KiB is refused before it reaches the API, in plain text.",
            "content": {**openapi.refusal("")["content"], "text/plain": {"schema": {"type": "string"}}},
        },
    }
    responses["503"] = openapi.refusal("DynamoDB did not answer, or throttled the query; retry after Retry-After.")
    if not_found:
        responses["404"] = openapi.refusal(not_found)
    return {
        "get": {"operationId": operation_id, **openapi.operation(summary, responses, auth=auth, parameters=parameters)}
    }


def _link(operation_id: str, description: str, **parameters: str) -> dict[str, Any]:
    """An OpenAPI link: what a client does next with an answer (and the stateful tests follow)."""
    return {"operationId": operation_id, "parameters": parameters, "description": description}


def _next_page(operation_id: str, **same: str) -> dict[str, Any]:
    """The next page: the same query (``same``), continued by the page's ``nextCursor``."""
    return {
        "nextPage": _link(operation_id, "The next page of the same query", **same, cursor="$response.body#/nextCursor")
    }


_THIS_GAME = {"gameId": "$request.path.gameId"}
_FIRST_GAME = {"gameId": "$response.body#/games/0/gameId"}


def build_openapi(settings: AnalystAuthSettings) -> dict[str, Any]:
    auth = openapi.analyst_auth(settings)
    schemas = openapi.components(Game, StoredOdds, GamesPage, OddsPage, CandlesPage, CountsPage, CountTotals)
    schemas["ReferenceOddsItem"] = {
        "type": "object",
        "description": "The latest odds item as stored (PK, SK, AWAY, HOME, AWAYODDS, HOMEODDS, CREATED, EXPIRE...)",
        "additionalProperties": True,
    }
    unknown_game = "No game with this id (neither details nor odds)."
    paths = {
        "/feeds": _read(
            auth,
            "referenceLatestOdds",
            "The latest odds of a game, in the reference system's shape",
            "ReferenceOddsItem",
            [openapi.parameter("game", "query", "The game, game-<id>", _GAME_ID_SCHEMA, required=True)],
            "The game has no odds (or does not exist).",
        ),
        "/v1/games": _read(
            auth,
            "scheduledGames",
            "Scheduled games by date, earliest first",
            "GamesPage",
            [
                openapi.parameter(
                    "status", "query", "Only 'scheduled' (the default)", {"type": "string", "enum": ["scheduled"]}
                ),
                *_WINDOW,
            ],
            links={
                **_next_page("scheduledGames"),
                "firstGame": _link("game", "The first game's details", **_FIRST_GAME),
                "firstGameOdds": _link("gameOdds", "The first game's odds", **_FIRST_GAME),
            },
        ),
        "/v1/games/{gameId}": _read(
            auth,
            "game",
            "Game details",
            "Game",
            [_GAME_ID],
            "No details for this game.",
            links={"odds": _link("gameOdds", "The game's odds", **_THIS_GAME)},
        ),
        "/v1/games/{gameId}/odds": _read(
            auth,
            "gameOdds",
            "Odds of a game in a time range, oldest first",
            "OddsPage",
            [_GAME_ID, *_WINDOW],
            unknown_game,
            links={**_next_page("gameOdds", **_THIS_GAME), "latest": _link("latestOdds", "The newest", **_THIS_GAME)},
        ),
        "/v1/games/{gameId}/odds/latest": _read(
            auth,
            "latestOdds",
            "The newest odds update of a game",
            "StoredOdds",
            [_GAME_ID],
            "The game has no odds (or does not exist).",
        ),
        "/v1/games/{gameId}/candles": _read(
            auth,
            "candles",
            "Per-minute open/high/low/close per side of one provider's prices of one market, oldest first",
            "CandlesPage",
            [
                _GAME_ID,
                openapi.parameter("market", "query", "The market, for example spread", _MARKET_SCHEMA, required=True),
                openapi.parameter(
                    "provider", "query", "The provider whose prices, for example sim", _PROVIDER_SCHEMA, required=True
                ),
                *_WINDOW,
            ],
            unknown_game,
            links=_next_page(
                "candles", **_THIS_GAME, market="$request.query.market", provider="$request.query.provider"
            ),
        ),
        "/v1/providers/{provider}/counts": _read(
            auth,
            "providerCounts",
            "Exact updates per minute from a provider, oldest first",
            "CountsPage",
            [openapi.parameter("provider", "path", "The provider id", _PROVIDER_SCHEMA), *_WINDOW],
            links=_next_page("providerCounts", provider="$request.path.provider"),
        ),
        "/v1/providers/{provider}/counts/totals": _read(
            auth,
            "providerCountTotals",
            "Exact updates per minute or per hour from a provider, oldest first, at most 48 hours at once",
            "CountTotals",
            [openapi.parameter("provider", "path", "The provider id", _PROVIDER_SCHEMA), *_TOTALS],
        ),
        "/v1/games/{gameId}/counts": _read(
            auth,
            "gameCounts",
            "Exact updates per minute or per hour of a game, oldest first, at most 48 hours at once",
            "CountTotals",
            [_GAME_ID, *_TOTALS],
            unknown_game,
        ),
        **openapi.service_paths("DynamoDB answers"),
    }
    return openapi.document(
        "sportsfeed read API",
        "History of every stored price, game details, per-minute candles and feed counts. "
        "Every request is one DynamoDB Query or GetItem.",
        paths,
        schemas,
        [auth],
    )
