"""The batch writer against a fake client at the edge: chunking, duplicates, unprocessed items, throttling."""

from __future__ import annotations

import random
from typing import Any

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError
from sportsfeed_common.batch_writer import (
    BATCH_LIMIT,
    Backoff,
    BatchWriter,
    ItemsRefused,
    collapse_duplicates,
)

TABLE = "sportsfeeds"


def item(n: int, value: int = 0) -> dict[str, Any]:
    return {"PK": f"game-{n % 7}", "SK": f"odds-{n:06d}", "HOMEODDS": value}


def throttled(code: str = "ProvisionedThroughputExceededException") -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": "slow down"}}, "BatchWriteItem")


class FakeDynamoDB:
    """Stores what it is sent; each call can be scripted to fail or to leave items unprocessed."""

    def __init__(self, script: list[Any] | None = None) -> None:
        self.script = list(script or [])  # per call: an exception, an int (items to leave unprocessed), or None
        self.stored: dict[tuple[str, str], dict[str, Any]] = {}
        self.calls: list[int] = []

    async def batch_write_item(self, RequestItems: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:  # noqa: N803
        requests = RequestItems[TABLE]
        assert len(requests) <= BATCH_LIMIT
        keys = [(r["PutRequest"]["Item"]["PK"]["S"], r["PutRequest"]["Item"]["SK"]["S"]) for r in requests]
        assert len(set(keys)) == len(keys), "DynamoDB refuses a batch holding one key twice"
        self.calls.append(len(requests))
        action = self.script.pop(0) if self.script else None
        if isinstance(action, Exception):
            raise action
        left = action or 0
        for key, request in zip(keys[left:], requests[left:], strict=True):
            self.stored[key] = request["PutRequest"]["Item"]
        return {"UnprocessedItems": {TABLE: requests[:left]} if left else {}}

    async def put_item(self, TableName: str, Item: dict[str, Any], ConditionExpression: str) -> dict[str, Any]:  # noqa: N803
        assert (TableName, ConditionExpression) == (TABLE, "attribute_not_exists(PK)")
        self.calls.append(1)
        action = self.script.pop(0) if self.script else None
        if isinstance(action, Exception):
            raise action
        key = (Item["PK"]["S"], Item["SK"]["S"])
        if key in self.stored:
            raise ClientError({"Error": {"Code": "ConditionalCheckFailedException", "Message": "exists"}}, "PutItem")
        self.stored[key] = Item
        return {}


class Sleeps:
    def __init__(self) -> None:
        self.waits: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


def writer(client: FakeDynamoDB, sleeps: Sleeps) -> BatchWriter:
    return BatchWriter(client, TABLE, Backoff(base_seconds=0.05, cap_seconds=5, rng=random.Random(7)), sleep=sleeps)


async def test_items_go_in_chunks_of_25() -> None:
    client, sleeps = FakeDynamoDB(), Sleeps()
    report = await writer(client, sleeps).write([item(n) for n in range(60)])
    assert client.calls == [25, 25, 10]
    assert len(client.stored) == 60
    assert (report.items, report.requests, report.retries) == (60, 3, 0)
    assert sleeps.waits == []


async def test_duplicate_keys_collapse_to_the_last_value() -> None:
    client, sleeps = FakeDynamoDB(), Sleeps()
    await writer(client, sleeps).write([item(1, 100), item(2), item(1, 200)])
    assert len(client.stored) == 2
    assert client.stored[("game-1", "odds-000001")]["HOMEODDS"] == {"N": "200"}
    assert [i["HOMEODDS"] for i in collapse_duplicates([item(1, 1), item(1, 2)])] == [2]


async def test_unprocessed_items_are_resent_until_stored() -> None:
    client, sleeps = FakeDynamoDB(script=[20, 5, 1]), Sleeps()
    report = await writer(client, sleeps).write([item(n) for n in range(25)])
    assert client.calls == [25, 20, 5, 1]
    assert len(client.stored) == 25
    assert report.retries == 3
    assert len(sleeps.waits) == 3


@pytest.mark.parametrize("code", ["ProvisionedThroughputExceededException", "ThrottlingException",
                                  "RequestLimitExceeded", "InternalServerError", "ServiceUnavailable"])
async def test_throttling_and_unavailability_are_retried(code: str) -> None:
    client, sleeps = FakeDynamoDB(script=[throttled(code), throttled(code)]), Sleeps()
    report = await writer(client, sleeps).write([item(n) for n in range(10)])
    assert len(client.stored) == 10
    assert report.retries == 2


async def test_an_unreachable_endpoint_is_waited_out() -> None:
    down = EndpointConnectionError(endpoint_url="http://127.0.0.1:8000")
    client, sleeps = FakeDynamoDB(script=[down] * 12), Sleeps()
    await writer(client, sleeps).write([item(n) for n in range(3)])
    assert len(client.stored) == 3
    assert len(sleeps.waits) == 12


async def test_backoff_grows_with_full_jitter_up_to_the_cap() -> None:
    backoff = Backoff(base_seconds=0.05, cap_seconds=5, rng=random.Random(1))
    for attempt in range(40):
        ceiling = min(5, 0.05 * 2 ** min(attempt, 30))
        assert 0 <= backoff.delay(attempt) <= ceiling
    assert backoff.delay(5000) <= 5  # a long outage must not overflow


async def test_a_validation_error_is_refused_not_retried() -> None:
    client, sleeps = FakeDynamoDB(script=[throttled("ValidationException")]), Sleeps()
    with pytest.raises(ItemsRefused, match="ValidationException"):
        await writer(client, sleeps).write([item(1)])
    assert sleeps.waits == []


async def test_put_if_absent_stores_only_missing_keys_and_never_overwrites() -> None:
    client, sleeps = FakeDynamoDB(), Sleeps()
    await writer(client, sleeps).write([item(1, value=100)])
    report = await writer(client, sleeps).put_if_absent([item(1, value=999), item(2, value=200), item(2, value=201)])
    assert (report.items, report.requests) == (1, 2)  # item 2 once (collapsed), item 1 refused as present
    assert client.stored[("game-1", "odds-000001")]["HOMEODDS"] == {"N": "100"}
    assert client.stored[("game-2", "odds-000002")]["HOMEODDS"] == {"N": "201"}


async def test_put_if_absent_retries_throttling_and_outages_and_refuses_bad_items() -> None:
    client, sleeps = FakeDynamoDB([throttled(), EndpointConnectionError(endpoint_url="http://db")]), Sleeps()
    report = await writer(client, sleeps).put_if_absent([item(3)])
    assert (report.items, report.retries, len(sleeps.waits)) == (1, 2, 2)
    client.script = [throttled("ValidationException")]
    with pytest.raises(ItemsRefused):
        await writer(client, sleeps).put_if_absent([item(4)])
