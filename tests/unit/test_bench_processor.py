"""The processor benchmark's own checks: seq gaps and seqs given to two updates are counted, and only
the run's sequenced updates on ``odds.live`` are waited for."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from aiokafka import ConsumerRecord, TopicPartition
from sportsfeed_bench.persistence import RunBatch
from sportsfeed_bench.processor import Tail, faults
from sportsfeed_common.events import ImpliedProbabilities, LiveUpdate, encode
from sportsfeed_common.topics import NOT_LIVE_HEADER, ODDS_LIVE

T0 = datetime(2026, 11, 23, 12, tzinfo=UTC)


def live(game: str, seq: int, second: int) -> bytes:
    return encode(LiveUpdate(provider="sim", game_id=game, market="spread", ts=T0 + timedelta(seconds=second),
                             home_odds=-110, away_odds=-110, seq=seq,
                             implied=ImpliedProbabilities(home=0.52, away=0.52), date=0))


def test_a_clean_run_has_no_faults_even_with_a_republished_record() -> None:
    assert faults([live("game-a", 1, 1), live("game-a", 2, 2), live("game-b", 1, 1), live("game-a", 2, 2)]) == 0


def test_a_gap_and_a_seq_given_twice_are_faults() -> None:
    assert faults([live("game-a", 1, 1), live("game-a", 3, 3)]) == 1
    assert faults([live("game-a", 1, 1), live("game-a", 1, 2)]) == 1


def record(key: bytes, value: bytes, offset: int, headers: list[tuple[str, bytes]] | None = None) -> ConsumerRecord:
    return ConsumerRecord(topic=ODDS_LIVE.name, partition=0, offset=offset, timestamp=0, timestamp_type=0, key=key,
                          value=value, checksum=None, serialized_key_size=len(key),
                          serialized_value_size=len(value), headers=headers or [])


class FakeConsumer:
    def __init__(self, *fetches: list[ConsumerRecord]) -> None:
        self.fetches = list(fetches)

    async def getmany(self, timeout_ms: int) -> dict[TopicPartition, list[ConsumerRecord]]:
        return {TopicPartition(ODDS_LIVE.name, 0): self.fetches.pop(0)} if self.fetches else {}


async def test_the_tail_counts_each_seq_of_the_run_once_and_skips_updates_that_were_not_new() -> None:
    batch = RunBatch.build(2)
    (first_key, first_value), (second_key, second_value) = batch.live_records()
    other_key, other_value = RunBatch.build(1).live_records()[0]
    not_live = record(first_key, batch.records[0][1], 1, [NOT_LIVE_HEADER])  # an OddsUpdate: no seq
    tail = object.__new__(Tail)  # without a real consumer, which would want stopping
    tail._topic = ODDS_LIVE
    tail._consumer = FakeConsumer(  # type: ignore[assignment]  # the broker's side, faked
        [record(first_key, first_value, 0), not_live, record(other_key, other_value, 2)],
        [record(first_key, first_value, 3), record(second_key, second_value, 4)])
    _, values = await tail.collect(batch, deadline=float("inf"), sequenced=True)
    assert values == [first_value, first_value, second_value]  # a copy is kept (faults() checks it), not counted
