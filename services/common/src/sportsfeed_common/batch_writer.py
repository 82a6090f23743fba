"""Writing batches of items to DynamoDB so that every one of them is stored, exactly once.

The reference lost data here three ways: it ignored ``UnprocessedItems``, it
sent batches holding one key twice (DynamoDB refuses such a batch whole), and
it gave up on errors. This writer:

- collapses items with the same key to the last one (keys are deterministic,
  so the last write of a key is the one that counts anyway);
- sends BatchWriteItem requests of at most 25 items, several at a time (the
  keys are distinct once collapsed, so requests of one batch never conflict);
- resends unprocessed items, and retries throttling and unavailability, with
  exponential backoff and full jitter, for as long as it takes. A DynamoDB
  outage therefore blocks the caller, which is what pauses consumption: no
  message after an unwritten one is ever committed;
- refuses outright only what no retry can fix (a validation error), so the
  caller can park that batch instead of retrying it forever.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from boto3.dynamodb.types import TypeSerializer
from botocore.exceptions import BotoCoreError, ClientError

log = logging.getLogger(__name__)

BATCH_LIMIT = 25  # DynamoDB's maximum items per BatchWriteItem
# BatchWriteItem requests of one batch in flight at once: a request's round trip leaves DynamoDB
# idle otherwise (about 1.3x the items per second of one at a time against DynamoDB Local).
DEFAULT_IN_FLIGHT = 4

# Worth retrying: DynamoDB is busy or briefly unavailable.
RETRIABLE_CODES = frozenset(
    {
        "ProvisionedThroughputExceededException",
        "ThrottlingException",
        "RequestLimitExceeded",
        "InternalServerError",
        "ServiceUnavailable",
        "TransactionInProgressException",
    }
)

Sleep = Callable[[float], Awaitable[None]]


class ItemsRefused(ValueError):
    """DynamoDB refused the items themselves (not a transient failure); retrying cannot help."""


@dataclass
class Backoff:
    """Exponential backoff with full jitter: wait a random time up to base * 2^attempt, capped."""

    base_seconds: float = 0.05
    cap_seconds: float = 5.0
    rng: random.Random = field(default_factory=random.Random)

    def delay(self, attempt: int) -> float:
        # The exponent is capped too: a long outage must not overflow the float.
        return self.rng.uniform(0, min(self.cap_seconds, self.base_seconds * 2 ** min(attempt, 30)))


@dataclass
class WriteReport:
    items: int = 0  # distinct items stored
    requests: int = 0  # BatchWriteItem calls made
    retries: int = 0  # calls repeated for unprocessed items, throttling or unavailability
    seconds: float = 0.0

    def add(self, other: WriteReport) -> None:
        """Count ``other``'s writes in this report too (one batch written in two ways)."""
        self.items += other.items
        self.requests += other.requests
        self.retries += other.retries
        self.seconds += other.seconds


def _key(item: dict[str, Any]) -> tuple[Any, Any]:
    return item["PK"], item["SK"]


def collapse_duplicates(items: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """One item per (PK, SK), the last one given, in first-seen order."""
    latest: dict[tuple[Any, Any], dict[str, Any]] = {}
    for item in items:
        latest[_key(item)] = item
    return list(latest.values())


@dataclass(frozen=True)
class Counter:
    """An item counting something: its key, and the attributes it is created with (COUNT aside)."""

    key: dict[str, Any]
    attributes: dict[str, Any]


def _put_found_the_item(error: ClientError) -> bool:
    """A transaction cancelled because its conditional put (the first action) found the item."""
    if _error_code(error) != "TransactionCanceledException":
        return False
    reasons = error.response.get("CancellationReasons") or []
    return bool(reasons) and reasons[0].get("Code") == "ConditionalCheckFailed"


class BatchWriter:
    def __init__(self, client: Any, table: str, backoff: Backoff | None = None, sleep: Sleep = asyncio.sleep,
                 in_flight: int = DEFAULT_IN_FLIGHT) -> None:
        """``client`` is an aiobotocore DynamoDB client (or anything with its ``batch_write_item``)."""
        self._client = client
        self._table = table
        self._in_flight = in_flight
        self._backoff = backoff or Backoff()
        self._sleep = sleep
        self._serializer = TypeSerializer()

    def _put_request(self, item: dict[str, Any]) -> dict[str, Any]:
        return {"PutRequest": {"Item": {name: self._serializer.serialize(value) for name, value in item.items()}}}

    async def write(self, items: Sequence[dict[str, Any]]) -> WriteReport:
        """Store every item; return only when all are stored. Raises :class:`ItemsRefused` for bad items."""
        started = time.perf_counter()
        distinct = collapse_duplicates(items)
        report = WriteReport(items=len(distinct))
        chunks = [[self._put_request(item) for item in distinct[start : start + BATCH_LIMIT]]
                  for start in range(0, len(distinct), BATCH_LIMIT)]
        slots = asyncio.Semaphore(self._in_flight)

        async def write_chunk(chunk: list[dict[str, Any]]) -> None:
            async with slots:
                await self._write_chunk(chunk, report)

        # A refusal (ItemsRefused) fails the whole batch; the other requests run to their end first,
        # so nothing is left writing in the background.
        results = await asyncio.gather(*(write_chunk(chunk) for chunk in chunks), return_exceptions=True)
        for result in results:
            if isinstance(result, BaseException):
                raise result
        report.seconds = time.perf_counter() - started
        return report

    async def put_if_absent(self, items: Sequence[dict[str, Any]],
                            counters: Callable[[dict[str, Any]], Sequence[Counter]] | None = None) -> WriteReport:
        """Store each item whose key the table lacks; leave an existing one as it is.

        One conditional PutItem per item (BatchWriteItem takes no conditions), so this is for the
        few items that must never overwrite another (updates that were not new when they came).
        ``counters`` names, per item, counters to add 1 to when (and only when) that item is stored:
        the put and the additions are one transaction, so a replay, whose put finds the item,
        counts nothing twice. ``report.items`` says how many were stored. Retries and refusals as
        :meth:`write`.
        """
        started = time.perf_counter()
        distinct = collapse_duplicates(items)
        report = WriteReport()
        for item in distinct:
            typed = self._put_request(item)["PutRequest"]["Item"]
            if await self._put_if_absent(typed, counters(item) if counters else (), report):
                report.items += 1
        report.seconds = time.perf_counter() - started
        return report

    async def _put_if_absent(self, item: dict[str, Any], counters: Sequence[Counter], report: WriteReport) -> bool:
        """True if stored (and counted), False if the table had the key already."""
        attempt = 0
        while True:
            report.requests += 1
            try:
                if counters:
                    await self._client.transact_write_items(TransactItems=[
                        {"Put": {"TableName": self._table, "Item": item,
                                 "ConditionExpression": "attribute_not_exists(PK)"}},
                        *(self._increment(counter) for counter in counters)])
                else:
                    await self._client.put_item(TableName=self._table, Item=item,
                                                ConditionExpression="attribute_not_exists(PK)")
                return True
            except ClientError as error:
                if _error_code(error) == "ConditionalCheckFailedException" or _put_found_the_item(error):
                    return False
                _check_retriable(error, attempt)
            except (BotoCoreError, OSError) as error:
                _check_retriable(error, attempt)
            report.retries += 1
            await self._sleep(self._backoff.delay(attempt))
            attempt += 1

    def _increment(self, counter: Counter) -> dict[str, Any]:
        """An Update adding 1 to ``counter``'s COUNT, creating the item with its attributes if new."""
        names = {f"#a{n}": name for n, name in enumerate(counter.attributes)}
        values = {f":a{n}": self._serializer.serialize(value) for n, value in enumerate(counter.attributes.values())}
        sets = ", ".join(f"{name} = if_not_exists({name}, {value})" for name, value in zip(names, values, strict=True))
        return {"Update": {
            "TableName": self._table,
            "Key": {name: self._serializer.serialize(value) for name, value in counter.key.items()},
            "UpdateExpression": f"ADD #count :one SET {sets}" if sets else "ADD #count :one",
            "ExpressionAttributeNames": {"#count": "COUNT", **names},
            "ExpressionAttributeValues": {":one": {"N": "1"}, **values},
        }}

    async def _write_chunk(self, pending: list[dict[str, Any]], report: WriteReport) -> None:
        attempt = 0
        while pending:
            report.requests += 1
            try:
                response = await self._client.batch_write_item(RequestItems={self._table: pending})
            except (ClientError, BotoCoreError, OSError) as error:
                _check_retriable(error, attempt)
            else:
                pending = response.get("UnprocessedItems", {}).get(self._table, [])
                if not pending:
                    return
            report.retries += 1
            await self._sleep(self._backoff.delay(attempt))
            attempt += 1


def _error_code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


def _check_retriable(error: Exception, attempt: int) -> None:
    """Raise :class:`ItemsRefused` for what no retry can fix; log anything else, to be retried."""
    if isinstance(error, ClientError):
        code = _error_code(error)
        if code not in RETRIABLE_CODES:
            raise ItemsRefused(f"DynamoDB refused the items: {code}: {error}") from error
        log.warning("DynamoDB busy; retrying", extra={"code": code, "attempt": attempt})
    else:
        # Connection refused, timeouts, endpoint down: wait it out, skipping nothing.
        log.warning("DynamoDB unreachable; retrying", extra={"error": repr(error), "attempt": attempt})
