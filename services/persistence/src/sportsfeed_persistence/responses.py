"""Response bodies of the read API, built from table items.

Handlers encode these very types and ``/openapi.json`` is generated from
them. The v1 endpoints answer in the platform's camelCase event shapes; only
the reference's ``GET /feeds`` returns the raw item, as its clients expect.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sportsfeed_common.events import Game
from sportsfeed_common.http import Body
from sportsfeed_common.series import Candle, FeedCount


class StoredOdds(Body, kw_only=True, omit_defaults=True):
    """An odds update as stored: the OddsUpdate fields, without the per-hop trace."""

    id: str
    provider: str
    game_id: str
    market: str
    ts: datetime
    home: float | None = None
    away: float | None = None
    home_odds: float
    away_odds: float
    draw_odds: float | None = None
    odds_format: str
    status: str
    received_at: datetime | None = None
    created: int  # when persistence first stored it (epoch seconds; the reference's CREATED)
    # The seq it was pushed with, to stitch history to the live stream; absent for an update that was
    # never pushed (older than a price of its provider and market already live when it came).
    seq: int | None = None


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


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _utc(epoch_seconds: int) -> datetime:
    return _EPOCH + timedelta(seconds=epoch_seconds)


def game_from_item(item: dict[str, Any]) -> Game:
    return Game(
        game_id=item["PK"], sport=item["SPORT"], name=item["NAME"], home_team=item["HOMETEAM"],
        away_team=item["AWAYTEAM"], venue=item.get("VENUE"), game_date=_utc(item["GAMEDATE"]),
        status=item["STATUS"],
    )


def odds_from_item(item: dict[str, Any]) -> StoredOdds:
    received = item.get("RECEIVEDAT")
    return StoredOdds(
        id=item["ID"], provider=item["PROVIDER"], game_id=item["PK"], market=item["MARKET"],
        ts=datetime.fromisoformat(item["TS"].replace("Z", "+00:00")),
        home=item.get("HOME"), away=item.get("AWAY"), home_odds=item["HOMEODDS"], away_odds=item["AWAYODDS"],
        draw_odds=item.get("DRAWODDS"), odds_format=item["ODDSFORMAT"], status=item["STATUS"],
        received_at=_EPOCH + timedelta(milliseconds=received) if received is not None else None, created=item["CREATED"],
        seq=item.get("SEQ"),
    )
