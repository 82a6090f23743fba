"""The single DynamoDB table of DESIGN.md: keys, item shapes and an idempotent create command.

Attribute names keep the reference's upper-case style (``PK``, ``SK``,
``HOMEODDS``, ``CREATED``, ``EXPIRE``...), so an item read back through the
reference's ``GET /feeds`` keeps the fields its clients know.

Odds sort keys carry a fixed-width ISO-8601 UTC millisecond timestamp, so
lexicographic order is time order for any date (the reference's epoch-seconds
keys sorted correctly only while every value had ten digits).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from .events import Game, OddsUpdate
from .series import Candle, FeedCount, Ohlc
from .times import epoch_millis, iso_millis, iso_minute, parse_iso

log = logging.getLogger(__name__)

SCHEDULED_INDEX = "GSI-1"
TTL_ATTRIBUTE = "EXPIRE"
ODDS_PREFIX = "odds-"
CANDLE_PREFIX = "candle-"
COUNT_PREFIX = "count-"
PROVIDER_PREFIX = "provider-"
DEFAULT_ODDS_RETENTION = timedelta(days=365)

# Sorts after every character allowed in provider ids and markets, so it closes a range.
_RANGE_END = "~"


def table_definition(table_name: str) -> dict[str, Any]:
    """Arguments for CreateTable: PK/SK strings, on-demand billing, the sparse scheduled-games index."""
    return {
        "TableName": table_name,
        "BillingMode": "PAY_PER_REQUEST",
        "AttributeDefinitions": [
            {"AttributeName": "PK", "AttributeType": "S"},
            {"AttributeName": "SK", "AttributeType": "S"},
            {"AttributeName": "ISSCHEDULED", "AttributeType": "S"},
            {"AttributeName": "GAMEDATE", "AttributeType": "N"},
        ],
        "KeySchema": [
            {"AttributeName": "PK", "KeyType": "HASH"},
            {"AttributeName": "SK", "KeyType": "RANGE"},
        ],
        "GlobalSecondaryIndexes": [
            {
                "IndexName": SCHEDULED_INDEX,
                "KeySchema": [
                    {"AttributeName": "ISSCHEDULED", "KeyType": "HASH"},
                    {"AttributeName": "GAMEDATE", "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "ALL"},
            }
        ],
    }


def game_sort_key(sport: str) -> str:
    return f"game-{sport}"


def odds_sort_key(ts: datetime, provider: str, market: str) -> str:
    return f"{ODDS_PREFIX}{iso_millis(ts)}#{provider}#{market}"


def odds_range(start: datetime, end: datetime) -> tuple[str, str]:
    """Inclusive sort-key bounds for every odds item with ``start <= ts <= end``."""
    return f"{ODDS_PREFIX}{iso_millis(start)}", f"{ODDS_PREFIX}{iso_millis(end)}#{_RANGE_END}"


def candle_sort_key(market: str, provider: str, minute: datetime) -> str:
    return f"{CANDLE_PREFIX}{market}#{provider}#{iso_minute(minute)}"


def candle_range(market: str, provider: str, start: datetime, end: datetime) -> tuple[str, str]:
    """Inclusive sort-key bounds for ``provider``'s candles of ``market`` in the minutes from ``start`` to ``end``."""
    return candle_sort_key(market, provider, start), candle_sort_key(market, provider, end)


def provider_key(provider: str) -> str:
    return f"{PROVIDER_PREFIX}{provider}"


def count_sort_key(minute: datetime, partition: int) -> str:
    """One input partition's share of a provider's minute: ``count-<minute>#<partition>``."""
    return f"{COUNT_PREFIX}{iso_minute(minute)}#{partition:03d}"


def count_range(start: datetime, end: datetime) -> tuple[str, str]:
    """Inclusive sort-key bounds for every partial count of the minutes from ``start`` to ``end``."""
    return f"{COUNT_PREFIX}{iso_minute(start)}", f"{COUNT_PREFIX}{iso_minute(end)}#{_RANGE_END}"


def count_minute_end(minute_text: str) -> str:
    """The sort key just past every partial count of a minute (``MINUTE`` attribute): where the next begins."""
    return f"{COUNT_PREFIX}{minute_text}#{_RANGE_END}"


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


# The share of a provider's minute counting updates persistence stored that the stream processor did
# not count: late ones (older than a price already live for their market, so never sequenced).
LATE_SHARE = "late"


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


@dataclass(frozen=True)
class TableReport:
    created: bool
    ttl_enabled: bool

    @property
    def changed(self) -> bool:
        return self.created or self.ttl_enabled


def create_table(client: Any, table_name: str) -> TableReport:
    """Create the table and enable TTL on ``EXPIRE`` where missing. Safe to run any number of times.

    ``client`` is a boto3 DynamoDB client. An existing table whose keys or
    index differ from the definition is reported, never altered.
    """
    definition = table_definition(table_name)
    created = False
    try:
        description = client.describe_table(TableName=table_name)["Table"]
        _check_matches(description, definition)
    except client.exceptions.ResourceNotFoundException:
        try:
            client.create_table(**definition)
            created = True
        except client.exceptions.ResourceInUseException:
            pass  # created concurrently by another init job: same outcome
        client.get_waiter("table_exists").wait(TableName=table_name)
    ttl = client.describe_time_to_live(TableName=table_name)["TimeToLiveDescription"]
    ttl_enabled = False
    if ttl.get("TimeToLiveStatus") not in ("ENABLED", "ENABLING"):
        client.update_time_to_live(
            TableName=table_name,
            TimeToLiveSpecification={"Enabled": True, "AttributeName": TTL_ATTRIBUTE},
        )
        ttl_enabled = True
    elif ttl.get("AttributeName") != TTL_ATTRIBUTE:
        raise TableMismatch(
            f"table {table_name}: TTL is on {ttl.get('AttributeName')!r}, expected {TTL_ATTRIBUTE!r}"
        )
    return TableReport(created=created, ttl_enabled=ttl_enabled)


class TableMismatch(RuntimeError):
    """An existing table does not have the keys or index the platform relies on."""


def _check_matches(description: dict[str, Any], definition: dict[str, Any]) -> None:
    name = definition["TableName"]
    if description["KeySchema"] != definition["KeySchema"]:
        raise TableMismatch(f"table {name}: key schema {description['KeySchema']} is not PK/SK")
    indexes = {index["IndexName"]: index for index in description.get("GlobalSecondaryIndexes", [])}
    if SCHEDULED_INDEX not in indexes:
        raise TableMismatch(f"table {name}: index {SCHEDULED_INDEX} is missing")
    expected = definition["GlobalSecondaryIndexes"][0]["KeySchema"]
    if indexes[SCHEDULED_INDEX]["KeySchema"] != expected:
        raise TableMismatch(f"table {name}: index {SCHEDULED_INDEX} is not ISSCHEDULED/GAMEDATE")
