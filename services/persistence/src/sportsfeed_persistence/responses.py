"""Response bodies of the read API, built from table items.

Handlers encode these very types and ``/openapi.json`` is generated from
them. The v1 endpoints answer in the platform's camelCase event shapes; only
the reference's ``GET /feeds`` returns the raw item, as its clients expect.
Items become events and :class:`StoredOdds` in :mod:`sportsfeed_common.items`.
"""

from __future__ import annotations

from datetime import datetime

from sportsfeed_common.events import Game
from sportsfeed_common.http import Body
from sportsfeed_common.items import StoredOdds
from sportsfeed_common.series import Candle, FeedCount


class GamesPage(Body, kw_only=True):
    games: list[Game]
    next_cursor: str | None  # pass back as `cursor` for the next page; null on the last page


class OddsPage(Body, kw_only=True):
    game_id: str
    odds: list[StoredOdds]
    next_cursor: str | None


class CandlesPage(Body, kw_only=True):
    game_id: str
    market: str
    provider: str
    candles: list[Candle]
    next_cursor: str | None


class PeriodCount(Body, kw_only=True):
    """Exact updates in one minute or hour (``start``: its first instant)."""

    start: datetime
    count: int


class CountTotals(Body, kw_only=True, omit_defaults=True):
    """A game's or a provider's updates per minute or per hour, oldest first (periods without any left out)."""

    game_id: str | None = None
    provider: str | None = None
    resolution: str  # "minute" or "hour"
    counts: list[PeriodCount]


class CountsPage(Body, kw_only=True):
    provider: str
    counts: list[FeedCount]
    next_cursor: str | None
