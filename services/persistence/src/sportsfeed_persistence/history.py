"""The read side of the table: every history access pattern as a Query, never a Scan.

The read API's handlers are thin over this module. Pages are cut by
DynamoDB's ``LastEvaluatedKey``, handed to clients as an opaque cursor
(URL-safe base64 of its JSON) and checked on the way back: a cursor only
continues the query it came from.
"""

from __future__ import annotations

import base64
import binascii
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import msgspec
from boto3.dynamodb.types import TypeDeserializer
from sportsfeed_common.items import counts_from_items
from sportsfeed_common.series import FeedCount
from sportsfeed_common.table import (
    CANDLE_PREFIX,
    COUNT_PREFIX,
    ODDS_PREFIX,
    SCHEDULED_INDEX,
    candle_range,
    count_minute_end,
    count_range,
    odds_range,
    provider_key,
)

DEFAULT_LIMIT = 100
# The count totals (a game's per minute, any per hour) read every item of their range at once, unpaged.
MAX_TOTALS_RANGE = timedelta(hours=48)
MAX_LIMIT = 1000


class InvalidQuery(ValueError):
    """A query parameter is out of range or malformed; the message starts with its name."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


@dataclass(frozen=True)
class Page:
    items: list[dict[str, Any]]
    next_cursor: str | None


@dataclass(frozen=True)
class CountsPage:
    counts: list[FeedCount]
    next_cursor: str | None


def encode_cursor(last_key: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(msgspec.json.encode(last_key)).decode().rstrip("=")


def decode_cursor(token: str, expected: dict[str, Any]) -> dict[str, Any]:
    """The ``ExclusiveStartKey`` in ``token``; refused unless it continues the same query.

    ``expected`` maps key attributes to the value the query fixes (for example
    ``{"PK": {"S": game_id}}``); the cursor must hold those values and nothing
    but string or number key attributes.
    """
    try:
        key = msgspec.json.decode(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    except (binascii.Error, ValueError, msgspec.DecodeError):
        raise InvalidQuery("cursor", "is not a cursor this API issued") from None
    well_formed = isinstance(key, dict) and all(
        isinstance(value, dict) and len(value) == 1 and next(iter(value)) in ("S", "N")
        and isinstance(next(iter(value.values())), str)
        for value in key.values()
    )
    if not well_formed or any(key.get(name) != value for name, value in expected.items()):
        raise InvalidQuery("cursor", "is not a cursor for this query")
    return key


def check_limit(limit: int | None) -> int:
    if limit is None:
        return DEFAULT_LIMIT
    if not 1 <= limit <= MAX_LIMIT:
        raise InvalidQuery("limit", f"must be between 1 and {MAX_LIMIT}")
    return limit


def check_range(start: datetime, end: datetime) -> None:
    if start > end:
        raise InvalidQuery("from", "must not be after 'to'")


def check_totals_range(start: datetime, end: datetime) -> None:
    check_range(start, end)
    if end - start > MAX_TOTALS_RANGE:
        raise InvalidQuery("from", f"must be at most {MAX_TOTALS_RANGE.total_seconds() / 3600:.0f} hours before 'to'")


def _per_minute(items: list[dict[str, Any]]) -> dict[str, int]:
    """Items with a ``MINUTE`` and a ``COUNT`` (candles, count shares) added up per minute, in order."""
    totals: defaultdict[str, int] = defaultdict(int)
    for item in items:
        totals[item["MINUTE"]] += int(item["COUNT"])
    return dict(sorted(totals.items()))


def by_hour(minutes: dict[str, int]) -> dict[str, int]:
    """Per-minute counts (``YYYY-MM-DDThh:mmZ``, in order) added up per UTC hour (``YYYY-MM-DDThh:00Z``)."""
    hours: dict[str, int] = {}
    for minute, count in minutes.items():
        hour = f"{minute[:13]}:00Z"
        hours[hour] = hours.get(hour, 0) + count
    return hours


def _number_within(text: str, low: float, high: float) -> bool:
    try:
        return low <= float(text) <= high
    except ValueError:
        return False


_deserializer = TypeDeserializer()


def plain(item: dict[str, Any]) -> dict[str, Any]:
    """A typed DynamoDB item as plain JSON-ready values (numbers as int or float)."""
    values = {name: _deserializer.deserialize(value) for name, value in item.items()}
    return {name: _number(value) if isinstance(value, Decimal) else value for name, value in values.items()}


def _number(value: Decimal) -> int | float:
    return int(value) if value == value.to_integral_value() else float(value)


class History:
    def __init__(self, client: Any, table: str) -> None:
        """``client`` is an aiobotocore DynamoDB client (or None until :meth:`use` gives one)."""
        self._client = client
        self._table = table

    def use(self, client: Any) -> None:
        """Read through ``client`` from now on (a server opens its client only when it starts)."""
        self._client = client

    async def _query(self, **arguments: Any) -> dict[str, Any]:
        return await self._client.query(TableName=self._table, **arguments)

    async def game(self, game_id: str) -> dict[str, Any] | None:
        """Game by id: Query ``PK = gameId AND begins_with(SK, "game-")``."""
        response = await self._query(
            KeyConditionExpression="PK = :game AND begins_with(SK, :prefix)",
            ExpressionAttributeValues={":game": {"S": game_id}, ":prefix": {"S": "game-"}},
            Limit=1,
        )
        return plain(response["Items"][0]) if response["Items"] else None

    async def latest_odds(self, game_id: str) -> dict[str, Any] | None:
        """Latest odds of a game: Query descending, limit 1 (the reference's ``GET /feeds``)."""
        response = await self._query(
            KeyConditionExpression="PK = :game AND begins_with(SK, :prefix)",
            ExpressionAttributeValues={":game": {"S": game_id}, ":prefix": {"S": ODDS_PREFIX}},
            ScanIndexForward=False,
            Limit=1,
        )
        return plain(response["Items"][0]) if response["Items"] else None

    async def known_game(self, game_id: str) -> bool:
        """Whether the table holds anything for ``game_id`` (details or odds): Query, limit 1."""
        response = await self._query(
            KeyConditionExpression="PK = :game", ExpressionAttributeValues={":game": {"S": game_id}},
            Limit=1, ProjectionExpression="PK",
        )
        return bool(response["Items"])

    async def odds(self, game_id: str, start: datetime, end: datetime, limit: int | None = None,
                   cursor: str | None = None) -> Page:
        """Odds of a game with ``start <= ts <= end``, oldest first, a page at a time."""
        check_range(start, end)
        return await self._sort_key_range(game_id, odds_range(start, end), limit, cursor)

    async def candles(self, game_id: str, market: str, provider: str, start: datetime, end: datetime,
                      limit: int | None = None, cursor: str | None = None) -> Page:
        """Per-minute candles of one provider's prices of one market of a game, for the minutes from ``start``
        to ``end``, oldest first."""
        check_range(start, end)
        return await self._sort_key_range(game_id, candle_range(market, provider, start, end), limit, cursor)

    async def provider_counts(self, provider: str, start: datetime, end: datetime, limit: int | None = None,
                              cursor: str | None = None) -> CountsPage:
        """A provider's exact updates per minute, from ``start`` to ``end``, oldest first, ``limit`` minutes a page.

        Each minute is stored as one share per input partition; the shares are
        read together and added up, and a page never splits a minute.
        """
        check_range(start, end)
        minutes = check_limit(limit)
        partition = provider_key(provider)
        items: list[dict[str, Any]] = []
        seen_minutes: set[str] = set()
        while True:
            page = await self._sort_key_range(partition, count_range(start, end), MAX_LIMIT, cursor)
            for item in page.items:
                if item["MINUTE"] not in seen_minutes and len(seen_minutes) == minutes:
                    # One minute more than asked for exists: the next page starts there.
                    last = items[-1]["MINUTE"]
                    key = {"PK": {"S": partition}, "SK": {"S": count_minute_end(last)}}
                    return CountsPage(counts_from_items(items), encode_cursor(key))
                seen_minutes.add(item["MINUTE"])
                items.append(item)
            cursor = page.next_cursor
            if cursor is None:
                return CountsPage(counts_from_items(items), None)

    async def game_minute_counts(self, game_id: str, start: datetime, end: datetime) -> dict[str, int]:
        """A game's exact updates per minute (ISO minute -> count), from ``start`` to ``end``: its candles'
        counts over every market, plus its late share (updates stored that were never sequenced)."""
        check_totals_range(start, end)
        low, high = count_range(start, end)
        first, last = low.removeprefix(COUNT_PREFIX), high.removeprefix(COUNT_PREFIX)
        # Candles are keyed by market and provider first, so all of them are read and the minutes filtered here.
        candles = [item for item in await self._whole_range(game_id, (CANDLE_PREFIX, f"{CANDLE_PREFIX}~"))
                   if first <= item["MINUTE"] <= last]
        return _per_minute(candles + await self._whole_range(game_id, (low, high)))

    async def provider_minute_counts(self, provider: str, start: datetime, end: datetime) -> dict[str, int]:
        """A provider's exact updates per minute (ISO minute -> count): every share of each minute added up."""
        check_totals_range(start, end)
        return _per_minute(await self._whole_range(provider_key(provider), count_range(start, end)))

    async def _whole_range(self, partition: str, bounds: tuple[str, str]) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        cursor = None
        while True:
            page = await self._sort_key_range(partition, bounds, MAX_LIMIT, cursor)
            items.extend(page.items)
            if (cursor := page.next_cursor) is None:
                return items

    async def _sort_key_range(self, partition: str, bounds: tuple[str, str], limit: int | None,
                              cursor: str | None) -> Page:
        low, high = bounds
        arguments: dict[str, Any] = {
            "KeyConditionExpression": "PK = :pk AND SK BETWEEN :low AND :high",
            "ExpressionAttributeValues": {":pk": {"S": partition}, ":low": {"S": low}, ":high": {"S": high}},
            "Limit": check_limit(limit),
        }
        if cursor:
            start_key = decode_cursor(cursor, {"PK": {"S": partition}})
            # A cursor from another range of the same partition would make DynamoDB refuse the query.
            if not low <= start_key.get("SK", {}).get("S", "") <= high:
                raise InvalidQuery("cursor", "is not a cursor for this query")
            arguments["ExclusiveStartKey"] = start_key
        return self._page(await self._query(**arguments))

    async def check_table(self) -> None:
        """Raises unless DynamoDB answers for the table (readiness)."""
        await self._client.describe_table(TableName=self._table)

    async def scheduled_games(self, start: datetime, end: datetime, limit: int | None = None,
                              cursor: str | None = None) -> Page:
        """Scheduled games by date through the sparse GSI-1, earliest first."""
        check_range(start, end)
        arguments: dict[str, Any] = {
            "IndexName": SCHEDULED_INDEX,
            "KeyConditionExpression": "ISSCHEDULED = :yes AND GAMEDATE BETWEEN :start AND :end",
            "ExpressionAttributeValues": {
                ":yes": {"S": "Y"},
                ":start": {"N": str(int(start.timestamp()))},
                ":end": {"N": str(int(end.timestamp()))},
            },
            "Limit": check_limit(limit),
        }
        if cursor:
            start_key = decode_cursor(cursor, {"ISSCHEDULED": {"S": "Y"}})
            if not _number_within(start_key.get("GAMEDATE", {}).get("N", ""), int(start.timestamp()),
                                  int(end.timestamp())):
                raise InvalidQuery("cursor", "is not a cursor for this query")
            arguments["ExclusiveStartKey"] = start_key
        return self._page(await self._query(**arguments))

    @staticmethod
    def _page(response: dict[str, Any]) -> Page:
        last = response.get("LastEvaluatedKey")
        return Page([plain(item) for item in response["Items"]], encode_cursor(last) if last else None)
