"""The single DynamoDB table of DESIGN.md: keys, key ranges and an idempotent create command.

Attribute names keep the reference's upper-case style (``PK``, ``SK``,
``HOMEODDS``, ``CREATED``, ``EXPIRE``...), so an item read back through the
reference's ``GET /feeds`` keeps the fields its clients know.

Odds sort keys carry a fixed-width ISO-8601 UTC millisecond timestamp, so
lexicographic order is time order for any date (the reference's epoch-seconds
keys sorted correctly only while every value had ten digits).

The item shapes (events and responses to and from items) are in :mod:`sportsfeed_common.items`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from .times import iso_millis, iso_minute

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

# The share of a provider's minute counting updates persistence stored that the stream processor did
# not count: late ones (older than a price already live for their market, so never sequenced).
LATE_SHARE = "late"


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
