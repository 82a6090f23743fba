"""Items of the table to and from events and read-API bodies: every mapping in one place.

Attribute names keep the reference's upper-case style (``PK``, ``SK``,
``HOMEODDS``, ``CREATED``, ``EXPIRE``...), so an item read back through the
reference's ``GET /feeds`` keeps the fields its clients know. Keys and key
ranges are in :mod:`sportsfeed_common.table`.

Items going in carry DynamoDB values (numbers as ``Decimal`` or ``int``); items
coming back are expected with plain values (numbers as ``int`` or ``float``),
as the read side deserialises them.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from .events import Game, IdentifiedOdds, MarketStatus, OddsFormat, OddsUpdate, UtcTime
from .http import Body
from .series import Candle, FeedCount, Ohlc
from .table import (
    COUNT_PREFIX,
    DEFAULT_ODDS_RETENTION,
    LATE_SHARE,
    TTL_ATTRIBUTE,
    candle_sort_key,
    count_sort_key,
    game_sort_key,
    odds_sort_key,
    provider_key,
)
from .times import epoch_millis, from_epoch_millis, from_epoch_seconds, iso_millis, iso_minute, parse_iso


class StoredOdds(IdentifiedOdds, Body, kw_only=True, omit_defaults=True):
    """An odds update as stored: the OddsUpdate fields, without the per-hop trace."""

    id: str
    odds_format: OddsFormat  # always written, so required (unlike in a submission)
    status: MarketStatus
    received_at: UtcTime | None = None
    created: int  # when persistence first stored it (epoch seconds; the reference's CREATED)
    # The seq it was pushed with, to stitch history to the live stream; absent for an update that was
    # never pushed (older than a price of its provider and market already live when it came).
    seq: int | None = None


def game_item(game: Game, created: datetime) -> dict[str, Any]:
    """A Game as a table item. ``ISSCHEDULED`` exists only while scheduled: GSI-1 stays sparse."""
    item: dict[str, Any] = {
        "PK": game.game_id,
        "SK": game_sort_key(game.sport),
        "SPORT": game.sport,
        "NAME": game.name,
        "HOMETEAM": game.home_team,
        "AWAYTEAM": game.away_team,
        "GAMEDATE": int(game.game_date.timestamp()),
        "STATUS": game.status,
        "CREATED": int(created.timestamp()),
    }
    if game.venue is not None:
        item["VENUE"] = game.venue
    if game.status == "scheduled":
        item["ISSCHEDULED"] = "Y"
    return item


def odds_item(
    update: OddsUpdate,
    created: datetime,
    retention: timedelta = DEFAULT_ODDS_RETENTION,
    seq: int | None = None,
) -> dict[str, Any]:
    """An OddsUpdate as a table item; the key is deterministic, so a replay overwrites the same item.

    ``seq`` is the one it was pushed with (``SEQ``); an update never pushed (not new) has none.
    """
    item: dict[str, Any] = {
        "PK": update.game_id,
        "SK": odds_sort_key(update.ts, update.provider, update.market),
        "ID": update.id,
        "PROVIDER": update.provider,
        "MARKET": update.market,
        "TS": iso_millis(update.ts),
        "HOMEODDS": _number(update.home_odds),
        "AWAYODDS": _number(update.away_odds),
        "ODDSFORMAT": update.odds_format,
        "STATUS": update.status,
        "CREATED": int(created.timestamp()),
        TTL_ATTRIBUTE: int((created + retention).timestamp()),
    }
    optional = {
        "HOME": update.home,
        "AWAY": update.away,
        "DRAWODDS": update.draw_odds,
    }
    item.update({name: _number(value) for name, value in optional.items() if value is not None})
    if update.received_at is not None:
        item["RECEIVEDAT"] = epoch_millis(update.received_at)
    if seq is not None:
        item["SEQ"] = seq
    return item


_SIDES = ("HOME", "AWAY", "DRAW")
_OHLC = ("OPEN", "HIGH", "LOW", "CLOSE")


def candle_item(candle: Candle, expire: datetime) -> dict[str, Any]:
    """A whole candle item: written with PutItem, so writing it again changes nothing."""
    item: dict[str, Any] = {
        "PK": candle.game_id,
        "SK": candle_sort_key(candle.market, candle.provider, candle.minute),
        "MARKET": candle.market,
        "PROVIDER": candle.provider,
        "MINUTE": iso_minute(candle.minute),
        "COUNT": candle.count,
        TTL_ATTRIBUTE: int(expire.timestamp()),
    }
    for side, ohlc in zip(_SIDES, (candle.home, candle.away, candle.draw), strict=True):
        if ohlc is not None:
            item.update({f"{side}{part}": _number(getattr(ohlc, part.lower())) for part in _OHLC})
    return item


def candle_from_item(item: dict[str, Any]) -> Candle:
    """``item`` with plain values (numbers as int or float), as the read side deserialises them."""
    sides = {
        side.lower(): Ohlc(**{part.lower(): item[f"{side}{part}"] for part in _OHLC})
        for side in _SIDES
        if f"{side}OPEN" in item
    }
    return Candle(game_id=item["PK"], market=item["MARKET"], provider=item["PROVIDER"],
                  minute=parse_iso(item["MINUTE"]),
                  count=item["COUNT"], **sides)


def count_item(count: FeedCount, partition: int, expire: datetime) -> dict[str, Any]:
    """The part of a provider's per-minute count seen on one input partition, as a whole item.

    A provider's games spread over every partition and only the partition's
    owner sees them; each owner writes its own share, the read side adds the
    shares of a minute up. No item is ever incremented, so none can double-count.
    """
    return {
        "PK": provider_key(count.provider),
        "SK": count_sort_key(count.minute, partition),
        "PROVIDER": count.provider,
        "MINUTE": iso_minute(count.minute),
        "PARTITION": partition,
        "COUNT": count.count,
        TTL_ATTRIBUTE: int(expire.timestamp()),
    }


def late_count_keys(odds: dict[str, Any]) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """For an odds item: the keys of the late shares of the minute of its ``TS``, its provider's and its
    game's (``count-<minute>#late`` under each: read and added up with the provider's partition shares,
    and with the game's candles), each with the attributes that item is created with."""
    minute = iso_minute(parse_iso(odds["TS"]))
    sort_key = f"{COUNT_PREFIX}{minute}#{LATE_SHARE}"
    attributes = {"PROVIDER": odds["PROVIDER"], "MINUTE": minute, TTL_ATTRIBUTE: odds[TTL_ATTRIBUTE]}
    return [({"PK": provider_key(odds["PROVIDER"]), "SK": sort_key}, attributes),
            ({"PK": odds["PK"], "SK": sort_key}, {"MINUTE": minute, TTL_ATTRIBUTE: odds[TTL_ATTRIBUTE]})]


def counts_from_items(items: list[dict[str, Any]]) -> list[FeedCount]:
    """Partial count items (plain values, in sort-key order) added up per minute."""
    totals: dict[str, FeedCount] = {}
    for item in items:
        minute = item["MINUTE"]
        if minute in totals:
            totals[minute].count += item["COUNT"]
        else:
            totals[minute] = FeedCount(provider=item["PROVIDER"], minute=parse_iso(minute), count=item["COUNT"])
    return list(totals.values())


def _number(value: float) -> Decimal | int:
    """DynamoDB numbers via boto3 must be Decimal (floats are refused); whole numbers stay ints."""
    return int(value) if float(value).is_integer() else Decimal(repr(float(value)))


def game_from_item(item: dict[str, Any]) -> Game:
    return Game(
        game_id=item["PK"], sport=item["SPORT"], name=item["NAME"], home_team=item["HOMETEAM"],
        away_team=item["AWAYTEAM"], venue=item.get("VENUE"), game_date=from_epoch_seconds(item["GAMEDATE"]),
        status=item["STATUS"],
    )


def odds_from_item(item: dict[str, Any]) -> StoredOdds:
    received = item.get("RECEIVEDAT")
    return StoredOdds(
        id=item["ID"], provider=item["PROVIDER"], game_id=item["PK"], market=item["MARKET"],
        ts=parse_iso(item["TS"]),
        home=item.get("HOME"), away=item.get("AWAY"), home_odds=item["HOMEODDS"], away_odds=item["AWAYODDS"],
        draw_odds=item.get("DRAWODDS"), odds_format=item["ODDSFORMAT"], status=item["STATUS"],
        received_at=from_epoch_millis(received) if received is not None else None, created=item["CREATED"],
        seq=item.get("SEQ"),
    )
