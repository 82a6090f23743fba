"""The read API's handlers: parse and validate, ask :class:`History`, answer in JSON.

Every pattern is a Query or GetItem on the table (see history.py); a game
that has neither details nor odds is a 404.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from aiohttp import web
from sportsfeed_common.http import json_error, json_response
from sportsfeed_common.items import candle_from_item, game_from_item, odds_from_item

from . import queries
from .history import History, InvalidQuery, by_hour
from .responses import (
    CandlesPage,
    CountsPage,
    CountTotals,
    GamesPage,
    OddsPage,
    PeriodCount,
)

HISTORY = web.AppKey("history", History)


def _history(request: web.Request) -> History:
    return request.app[HISTORY]


def _not_found(message: str) -> web.Response:
    return json_error(404, "not_found", message)


async def _unknown_game(history: History, game_id: str, what: str) -> web.Response:
    if await history.known_game(game_id):
        return _not_found(f"no {what} for {game_id} yet")
    return _not_found(f"no game {game_id}")


async def reference_latest_odds(request: web.Request) -> web.Response:
    """``GET /feeds?game=<gameId>``: the latest odds item of a game, as the reference returned it."""
    queries.check_known(request.query, {"game"})
    if "game" not in request.query:
        raise InvalidQuery("game", "required: GET /feeds?game=<gameId>")
    game_id = queries.game_id(request.query["game"])
    item = await _history(request).latest_odds(game_id)
    if item is None:
        return await _unknown_game(_history(request), game_id, "odds")
    return json_response(item)


async def scheduled_games(request: web.Request) -> web.Response:
    """``GET /v1/games?status=scheduled``: scheduled games by date, through the sparse GSI-1."""
    queries.check_known(request.query, {"status", "from", "to", "limit", "cursor"})
    status = request.query.get("status", "scheduled")
    if status != "scheduled":
        raise InvalidQuery("status", "only 'scheduled' games are listed (look other games up by id)")
    window = queries.parse_window(request.query)
    page = await _history(request).scheduled_games(window.start, window.end, window.limit, window.cursor)
    return json_response(GamesPage(games=[game_from_item(item) for item in page.items], next_cursor=page.next_cursor))


async def game(request: web.Request) -> web.Response:
    """``GET /v1/games/<id>``."""
    return await _one_item(request, History.game, game_from_item, "game details")


async def odds(request: web.Request) -> web.Response:
    """``GET /v1/games/<id>/odds?from=&to=&limit=&cursor=``: oldest first, a page at a time."""
    queries.check_known(request.query, {"from", "to", "limit", "cursor"})
    game_id = queries.game_id(request.match_info["game_id"])
    window = queries.parse_window(request.query)
    history = _history(request)
    page = await history.odds(game_id, window.start, window.end, window.limit, window.cursor)
    if not page.items and window.cursor is None and not await history.known_game(game_id):
        return _not_found(f"no game {game_id}")
    return json_response(OddsPage(game_id=game_id, odds=[odds_from_item(item) for item in page.items],
                                  next_cursor=page.next_cursor))


async def latest_odds(request: web.Request) -> web.Response:
    """``GET /v1/games/<id>/odds/latest``: the newest update of the game (Query descending, limit 1)."""
    return await _one_item(request, History.latest_odds, odds_from_item, "odds")


async def _one_item(request: web.Request, fetch: Callable[[History, str], Awaitable[dict[str, Any] | None]],
                    to_body: Callable[[dict[str, Any]], Any], what: str) -> web.Response:
    queries.check_known(request.query, set())
    game_id = queries.game_id(request.match_info["game_id"])
    history = _history(request)
    item = await fetch(history, game_id)
    if item is None:
        return await _unknown_game(history, game_id, what)
    return json_response(to_body(item))


async def candles(request: web.Request) -> web.Response:
    """``GET /v1/games/<id>/candles?market=&provider=&from=&to=&limit=&cursor=``: one provider's per-minute
    candles of one market, oldest first."""
    queries.check_known(request.query, {"market", "provider", "from", "to", "limit", "cursor"})
    game_id = queries.game_id(request.match_info["game_id"])
    for required, example in (("market", "spread"), ("provider", "sim")):
        if required not in request.query:
            raise InvalidQuery(required, f"required (for example {required}={example})")
    market = queries.market(request.query["market"])
    provider = queries.provider(request.query["provider"])
    window = queries.parse_window(request.query)
    history = _history(request)
    page = await history.candles(game_id, market, provider, window.start, window.end, window.limit, window.cursor)
    if not page.items and window.cursor is None and not await history.known_game(game_id):
        return _not_found(f"no game {game_id}")
    return json_response(CandlesPage(
        game_id=game_id, market=market, provider=provider, candles=[candle_from_item(item) for item in page.items],
        next_cursor=page.next_cursor))


async def provider_counts(request: web.Request) -> web.Response:
    """``GET /v1/providers/<id>/counts?from=&to=&limit=&cursor=``: exact updates per minute, oldest first
    (``limit`` counts minutes)."""
    queries.check_known(request.query, {"from", "to", "limit", "cursor"})
    provider = queries.provider(request.match_info["provider"])
    window = queries.parse_window(request.query)
    page = await _history(request).provider_counts(provider, window.start, window.end, window.limit, window.cursor)
    return json_response(CountsPage(provider=provider, counts=page.counts, next_cursor=page.next_cursor))


RESOLUTIONS = ("minute", "hour")


def _totals_query(request: web.Request) -> tuple[str, queries.Window]:
    """``resolution``, and ``from`` and ``to`` (both required: totals are read whole)."""
    queries.check_known(request.query, {"from", "to", "resolution"})
    for bound in ("from", "to"):
        if bound not in request.query:
            raise InvalidQuery(bound, "required (an ISO time; totals cover at most 48 hours)")
    return _resolution(request), queries.parse_window(request.query)


def _resolution(request: web.Request) -> str:
    resolution = request.query.get("resolution", "minute")
    if resolution not in RESOLUTIONS:
        raise InvalidQuery("resolution", "must be minute or hour")
    return resolution


def _periods(minutes: dict[str, int], resolution: str) -> list[PeriodCount]:
    """Per-minute counts (``YYYY-MM-DDThh:mmZ``) as periods of ``resolution``, oldest first."""
    totals = by_hour(minutes) if resolution == "hour" else minutes
    return [PeriodCount(start=datetime.strptime(period, "%Y-%m-%dT%H:%MZ").replace(tzinfo=UTC), count=count)
            for period, count in totals.items()]


async def game_counts(request: web.Request) -> web.Response:
    """``GET /v1/games/<id>/counts?from=&to=&resolution=minute|hour``: a game's exact updates per period (its
    candles' counts over every market, plus the late updates stored), at most 48 hours at once."""
    game_id = queries.game_id(request.match_info["game_id"])
    resolution, window = _totals_query(request)
    history = _history(request)
    minutes = await history.game_minute_counts(game_id, window.start, window.end)
    if not minutes and not await history.known_game(game_id):
        return _not_found(f"no game {game_id}")
    return json_response(CountTotals(game_id=game_id, resolution=resolution, counts=_periods(minutes, resolution)))


async def provider_count_totals(request: web.Request) -> web.Response:
    """``GET /v1/providers/<id>/counts/totals?from=&to=&resolution=minute|hour``: a provider's exact updates per
    period, every share of each minute added up, at most 48 hours at once."""
    provider = queries.provider(request.match_info["provider"])
    resolution, window = _totals_query(request)
    minutes = await _history(request).provider_minute_counts(provider, window.start, window.end)
    return json_response(CountTotals(provider=provider, resolution=resolution, counts=_periods(minutes, resolution)))
