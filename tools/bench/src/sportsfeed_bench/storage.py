"""Storage throughput: the persistence batch writer next to a raw BatchWriteItem loop, on the same
DynamoDB Local in the same run. The raw loop is also the storage ceiling other benchmarks refer to."""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from boto3.dynamodb.types import TypeSerializer
from sportsfeed_common.batch_writer import BATCH_LIMIT, BatchWriter
from sportsfeed_common.events import OddsUpdate
from sportsfeed_common.items import odds_item

from .ingest import Measurement

WRITER_BATCH = 500  # what the persistence worker takes from Kafka at most per batch


def odds_items(count: int) -> list[dict[str, Any]]:
    run = uuid.uuid4().hex[:8]
    start = datetime.now(UTC) - timedelta(hours=1)
    created = datetime.now(UTC)
    return [
        odds_item(
            OddsUpdate(provider="bench", game_id=f"game-bench-{run}-{n % 200}", market="spread",
                       ts=start + timedelta(milliseconds=n // 200), home=-3.5, away=3.5,
                       home_odds=-110 - n % 40, away_odds=100 + n % 40),
            created,
        )
        for n in range(count)
    ]


async def raw_batch_write_loop(client: Any, table: str, items: list[dict[str, Any]]) -> Measurement:
    """The baseline: pre-serialised PutRequests, 25 per BatchWriteItem, one call after another."""
    serializer = TypeSerializer()
    requests = [{"PutRequest": {"Item": {k: serializer.serialize(v) for k, v in item.items()}}} for item in items]
    started = time.perf_counter()
    for start in range(0, len(requests), BATCH_LIMIT):
        chunk = requests[start : start + BATCH_LIMIT]
        while chunk:
            response = await client.batch_write_item(RequestItems={table: chunk})
            chunk = response.get("UnprocessedItems", {}).get(table, [])
    return Measurement("raw BatchWriteItem loop", len(items), time.perf_counter() - started)


async def batch_writer(client: Any, table: str, items: list[dict[str, Any]]) -> Measurement:
    """The persistence writer, fed batches as the worker takes them from Kafka."""
    writer = BatchWriter(client, table)
    started = time.perf_counter()
    for start in range(0, len(items), WRITER_BATCH):
        await writer.write(items[start : start + WRITER_BATCH])
    return Measurement("persistence batch writer", len(items), time.perf_counter() - started)
