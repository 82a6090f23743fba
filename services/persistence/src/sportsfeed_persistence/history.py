"""The read side of the table: every history access pattern as a Query, never a Scan.

The read API's handlers are thin over this module. Pages are cut by
DynamoDB's ``LastEvaluatedKey``, handed to clients as an opaque cursor
(URL-safe base64 of its JSON) and checked on the way back: a cursor only
continues the query it came from.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

import msgspec
from boto3.dynamodb.types import TypeDeserializer
from sportsfeed_common.table import ODDS_PREFIX, SCHEDULED_INDEX, odds_range

DEFAULT_LIMIT = 100
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


_deserializer = TypeDeserializer()


def plain(item: dict[str, Any]) -> dict[str, Any]:
    """A typed DynamoDB item as plain JSON-ready values (numbers as int or float)."""
    values = {name: _deserializer.deserialize(value) for name, value in item.items()}
    return {name: _number(value) if isinstance(value, Decimal) else value for name, value in values.items()}


def _number(value: Decimal) -> int | float:
    return int(value) if value == value.to_integral_value() else float(value)


class History:
    def __init__(self, client: Any, table: str) -> None:
        """``client`` is an aiobotocore DynamoDB client."""
        self._client = client
        self._table = table

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

    async def odds(self, game_id: str, start: datetime, end: datetime, limit: int | None = None,
                   cursor: str | None = None) -> Page:
        """Odds of a game with ``start <= ts <= end``, oldest first, a page at a time."""
        check_range(start, end)
        low, high = odds_range(start, end)
        arguments: dict[str, Any] = {
            "KeyConditionExpression": "PK = :game AND SK BETWEEN :low AND :high",
            "ExpressionAttributeValues": {":game": {"S": game_id}, ":low": {"S": low}, ":high": {"S": high}},
            "Limit": check_limit(limit),
        }
        if cursor:
            arguments["ExclusiveStartKey"] = decode_cursor(cursor, {"PK": {"S": game_id}})
        return self._page(await self._query(**arguments))

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
            arguments["ExclusiveStartKey"] = decode_cursor(cursor, {"ISSCHEDULED": {"S": "Y"}})
        return self._page(await self._query(**arguments))

    @staticmethod
    def _page(response: dict[str, Any]) -> Page:
        last = response.get("LastEvaluatedKey")
        return Page([plain(item) for item in response["Items"]], encode_cursor(last) if last else None)
