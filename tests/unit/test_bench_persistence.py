"""The persistence benchmark's bookkeeping, without servers: the LiveUpdates a round produces to
``odds.live``, the wait for the worker's committed offsets, and how the table check counts losses."""

from __future__ import annotations

import itertools
from collections import defaultdict
from typing import Any

import pytest
from aiokafka import TopicPartition
from sportsfeed_bench import persistence
from sportsfeed_bench.ingest import Measurement
from sportsfeed_bench.persistence import BenchFailure, RunBatch, check_table, persistence_group, wait_until_stored
from sportsfeed_bench.report import median
from sportsfeed_common.events import LiveUpdate, OddsUpdate, decode
from sportsfeed_common.topics import ODDS_LIVE

TABLE = "sportsfeeds"


def test_a_run_batch_waits_for_one_distinct_id_per_record() -> None:
    batch = RunBatch.build(450)
    assert len(batch) == 450
    assert len(batch.ids) == 450
    assert batch.games == {key for key, _ in batch.records}
    assert all(decode(value, OddsUpdate).game_id.encode() == key for key, value in batch.records)


def test_the_live_records_are_the_runs_updates_sequenced_per_game_as_the_processor_would() -> None:
    batch = RunBatch.build(450)  # 200 games: most get two updates, some three
    live = [(key, decode(value, LiveUpdate)) for key, value in batch.live_records()]
    assert [key for key, _ in live] == [key for key, _ in batch.records]  # same keys, same order
    assert {update.id for _, update in live} == batch.ids
    seqs: defaultdict[bytes, list[int]] = defaultdict(list)
    for key, update in live:
        assert update.game_id.encode() == key
        seqs[key].append(update.seq)
        assert (update.change is None) == (update.seq == 1)  # a change against the game's previous price
        assert 0 < update.implied.home < 1 and 0 < update.implied.away < 1
        assert update.trace.ingested_at is not None and update.trace.processed_at is not None
    assert all(numbers == list(range(1, len(numbers) + 1)) for numbers in seqs.values())


def test_the_live_records_carry_the_price_change_and_the_implied_probabilities() -> None:
    batch = RunBatch.build(401)  # game 0 gets updates 0, 200 and 400
    game = batch.records[0][0]
    first, second = [decode(value, LiveUpdate) for key, value in batch.live_records() if key == game][:2]
    assert second.change is not None
    assert second.change.home_odds == second.home_odds - first.home_odds
    assert second.change.away_odds == second.away_odds - first.away_odds
    assert second.change.home == 0 and second.change.draw_odds is None
    assert first.implied.home == pytest.approx(-first.home_odds / (-first.home_odds + 100))
    assert first.implied.away == pytest.approx(100 / (first.away_odds + 100))


class _Server:
    def __init__(self, name: str, environment: dict[str, str]) -> None:
        self.name = name
        self._environment = environment

    def environment(self) -> dict[str, str]:
        return self._environment


class _Stack:
    def __init__(self, *servers: _Server) -> None:
        self.servers = list(servers)


def test_the_group_waited_for_is_the_one_the_worker_was_started_with() -> None:
    kafka = {"KAFKA_BOOTSTRAP_SERVERS": "127.0.0.1:9"}
    stack = _Stack(_Server("kafka", {}), _Server("persistence", {**kafka, "CONSUMER_GROUP": "bench-group"}))
    assert persistence_group(stack) == "bench-group"  # type: ignore[arg-type]
    default = _Stack(_Server("persistence", kafka))
    assert persistence_group(default) == "sportsfeed-persistence"  # type: ignore[arg-type]


def live(partition: int) -> TopicPartition:
    return TopicPartition(ODDS_LIVE.name, partition)


class FakeCommitted:
    """Answers each fetch with the next of ``answers`` (the last one again once they run out)."""

    def __init__(self, *answers: dict[TopicPartition, int] | None) -> None:
        self.group = "sportsfeed-persistence"
        self.topic = ODDS_LIVE
        self._answers = itertools.chain(answers, itertools.repeat(answers[-1]))
        self.fetches = 0

    async def fetch(self) -> dict[TopicPartition, int] | None:
        self.fetches += 1
        return next(self._answers)


@pytest.fixture
def no_pause(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(persistence, "POLL_SECONDS", 0.0)


async def test_storing_is_done_once_every_partition_is_committed_up_to_its_end(no_pause: None) -> None:
    ends = {live(0): 10, live(3): 4}
    # Not yet, the broker could not say, still behind on one partition, then done.
    committed = FakeCommitted({live(0): 2, live(3): -1}, None, {live(0): 10, live(3): 3}, {live(0): 10, live(3): 4})
    await wait_until_stored(committed, ends, deadline=float("inf"))  # type: ignore[arg-type]
    assert committed.fetches == 4


async def test_a_worker_that_stops_short_fails_at_the_deadline_saying_where(no_pause: None) -> None:
    committed = FakeCommitted({live(0): 10, live(3): 1})
    with pytest.raises(BenchFailure) as failure:
        await wait_until_stored(committed, {live(0): 10, live(3): 4}, deadline=0.0)  # type: ignore[arg-type]
    assert str(failure.value) == ("3 records not yet stored before the deadline (odds.live, consumer group "
                                  "sportsfeed-persistence, behind on partitions 3: 3): the worker stalled or lost "
                                  "updates")


async def test_a_broker_that_never_gives_the_offsets_fails_at_the_deadline_saying_so(no_pause: None) -> None:
    with pytest.raises(BenchFailure, match="did not give the committed offsets"):
        await wait_until_stored(FakeCommitted(None), {live(0): 1}, deadline=0.0)  # type: ignore[arg-type]


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
