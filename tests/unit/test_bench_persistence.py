"""The persistence benchmark's bookkeeping, without servers: which ids a round is waiting for,
how ``odds.stored`` records are matched to it, and how the table check counts losses."""

from __future__ import annotations

from typing import Any

from aiokafka import ConsumerRecord
from sportsfeed_bench.ingest import Measurement
from sportsfeed_bench.persistence import RunBatch, check_table
from sportsfeed_bench.report import median
from sportsfeed_common.events import OddsUpdate, decode

TABLE = "sportsfeeds"


def stored(key: bytes, value: bytes) -> ConsumerRecord:
    return ConsumerRecord(topic="odds.stored", partition=0, offset=0, timestamp=0, timestamp_type=0, key=key,
                          value=value, checksum=None, serialized_key_size=len(key),
                          serialized_value_size=len(value), headers=[])


def test_a_run_batch_waits_for_one_distinct_id_per_record() -> None:
    batch = RunBatch.build(450)
    assert len(batch) == 450
    assert len(batch.ids) == 450
    assert batch.games == {key for key, _ in batch.records}
    assert all(decode(value, OddsUpdate).game_id.encode() == key for key, value in batch.records)


def test_only_this_runs_updates_count_and_republished_ones_count_once() -> None:
    batch, other = RunBatch.build(3), RunBatch.build(3)
    records = [stored(key, value) for key, value in batch.records[:2] + batch.records[:1] + other.records]
    assert batch.ids_in(records) == {decode(value, OddsUpdate).id for _, value in batch.records[:2]}


class FakeTable:
    """Answers Query by game with the given items, ``page`` at a time, as DynamoDB pages results."""

    def __init__(self, items: list[tuple[str, str]], page: int = 2) -> None:
        self.items = items  # (gameId, update id)
        self.page = page
        self.queries: list[dict[str, Any]] = []

    async def query(self, **arguments: Any) -> dict[str, Any]:
        self.queries.append(arguments)
        assert arguments["TableName"] == TABLE
        game = arguments["ExpressionAttributeValues"][":game"]["S"]
        matching = [{"ID": {"S": update}} for item_game, update in self.items if item_game == game]
        start = arguments.get("ExclusiveStartKey", {}).get("n", 0)
        response: dict[str, Any] = {"Items": matching[start : start + self.page]}
        if start + self.page < len(matching):
            response["LastEvaluatedKey"] = {"n": start + self.page}
        return response


def updates_of(batch: RunBatch) -> list[tuple[str, str]]:
    return [(key.decode(), decode(value, OddsUpdate).id) for key, value in batch.records]


async def test_the_table_check_finds_every_update_across_pages() -> None:
    batch = RunBatch.build(250)  # more games than one per update: some games hold two
    table = FakeTable(updates_of(batch), page=1)
    check = await check_table(table, TABLE, batch)
    assert (check.lost, check.unexpected, check.exact) == (0, 0, True)
    assert {q["ExpressionAttributeValues"][":game"]["S"] for q in table.queries} == {g.decode() for g in batch.games}


async def test_the_table_check_counts_lost_and_unexpected_items() -> None:
    batch = RunBatch.build(10)
    items = updates_of(batch)
    # The first update missing, the second stored twice, and an item no update of the run explains.
    stranger = (items[0][0], "not-an-update-of-this-run")
    check = await check_table(FakeTable(items[1:] + items[1:2] + [stranger]), TABLE, batch)
    assert (check.lost, check.unexpected, check.exact) == (1, 2, False)


def test_the_median_round_is_reported() -> None:
    rows = [Measurement(name, updates, 1.0) for name, updates in (("a", 300), ("b", 100), ("c", 200))]
    assert median(rows).name == "c"
