"""The batch writer against DynamoDB Local, with unprocessed items and throttling injected at the
client boundary (DynamoDB Local never returns either by itself)."""

from __future__ import annotations

import random
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import aioboto3
import pytest
from boto3.dynamodb.conditions import Key
from botocore.exceptions import ClientError
from sportsfeed_common.aws import dynamodb_client_kwargs
from sportsfeed_common.batch_writer import Backoff, BatchWriter, ItemsRefused
from sportsfeed_common.events import OddsUpdate
from sportsfeed_common.items import odds_item
from sportsfeed_common.settings import CommonSettings

from ..tables import fresh_table, table_of

pytestmark = pytest.mark.integration

CREATED = datetime(2026, 11, 23, 12, tzinfo=UTC)


@pytest.fixture(scope="module")
def settings(servers) -> CommonSettings:
    return fresh_table(servers)


@pytest.fixture(scope="module")
def table(settings: CommonSettings) -> Any:
    return table_of(settings)


@pytest.fixture
async def client(settings: CommonSettings) -> AsyncIterator[Any]:
    # As the services open it: without botocore's client-side parameter validation.
    async with aioboto3.Session().client("dynamodb", **dynamodb_client_kwargs(settings, bulk_writer=True)) as real:
        yield real


class InjectFailures:
    """Wraps the real client: some calls are throttled, some leave items unprocessed (not sent at all)."""

    def __init__(self, real: Any, table: str, seed: int) -> None:
        self.real, self.table, self.rng = real, table, random.Random(seed)
        self.throttled = self.unprocessed = 0

    async def batch_write_item(self, RequestItems: dict[str, list[Any]]) -> dict[str, Any]:  # noqa: N803
        requests = RequestItems[self.table]
        if self.rng.random() < 0.3:
            self.throttled += 1
            raise ClientError({"Error": {"Code": "ProvisionedThroughputExceededException", "Message": "x"}},
                              "BatchWriteItem")
        left = self.rng.randint(0, len(requests) - 1) if self.rng.random() < 0.5 else 0
        self.unprocessed += left
        if left < len(requests):
            response = await self.real.batch_write_item(RequestItems={self.table: requests[left:]})
            assert not response.get("UnprocessedItems")
        return {"UnprocessedItems": {self.table: requests[:left]} if left else {}}


def updates(game_id: str, count: int) -> list[OddsUpdate]:
    start = CREATED - timedelta(hours=1)
    return [
        OddsUpdate(provider="acme", game_id=game_id, market="spread", ts=start + timedelta(milliseconds=n),
                   home_odds=-110 - n % 50, away_odds=100 + n % 50)
        for n in range(count)
    ]


def stored(table: Any, game_id: str) -> list[dict[str, Any]]:
    items, start = [], None
    while True:
        page = table.query(KeyConditionExpression=Key("PK").eq(game_id), **({"ExclusiveStartKey": start} if start else {}))
        items.extend(page["Items"])
        start = page.get("LastEvaluatedKey")
        if not start:
            return items


async def test_every_item_is_stored_once_despite_unprocessed_items_and_throttling(settings, table, client) -> None:
    game_id = f"game-{uuid.uuid4()}"
    batch = updates(game_id, 300)
    flaky = InjectFailures(client, settings.dynamodb_table, seed=3)
    no_wait = Backoff(base_seconds=0.0, cap_seconds=0.0)
    report = await BatchWriter(flaky, settings.dynamodb_table, no_wait).write([odds_item(u, CREATED) for u in batch])
    assert flaky.throttled > 0 and flaky.unprocessed > 0  # the failures really happened
    assert report.retries >= flaky.throttled
    items = stored(table, game_id)
    assert sorted(i["ID"] for i in items) == sorted(u.id for u in batch)


async def test_a_replay_changes_nothing(settings, table, client) -> None:
    game_id = f"game-{uuid.uuid4()}"
    batch = [odds_item(u, CREATED) for u in updates(game_id, 60)]
    writer = BatchWriter(client, settings.dynamodb_table)
    await writer.write(batch)
    first = sorted(stored(table, game_id), key=lambda i: i["SK"])
    await writer.write(batch + batch[:10])  # the same messages again, some twice in one batch
    assert sorted(stored(table, game_id), key=lambda i: i["SK"]) == first
    assert len(first) == 60


async def test_an_item_dynamodb_refuses_is_refused_not_retried_forever(settings, table, client) -> None:
    # With client-side validation off, DynamoDB itself judges the request: an empty key string is
    # its ValidationException, which the writer must turn into ItemsRefused (the batch is parked).
    game_id = f"game-{uuid.uuid4()}"
    good = [odds_item(u, CREATED) for u in updates(game_id, 30)]
    bad = {**good[0], "SK": ""}
    with pytest.raises(ItemsRefused, match="ValidationException"):
        await BatchWriter(client, settings.dynamodb_table).write([*good[1:], bad])
