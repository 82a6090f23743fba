"""The stream processor's faust agents through ``agent.test_context()``: no broker, a clock the test moves.

Seq, movement, candles, counts and every alert kind, through the same app the
worker runs (its tables in memory); outputs are recorded instead of produced.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import faust
import pytest
from aiokafka.errors import KafkaTimeoutError
from aiokafka.partitioner import DefaultPartitioner
from sportsfeed_common.events import Alert, LiveUpdate, OddsUpdate, encode
from sportsfeed_common.settings import load_settings
from sportsfeed_stream_processor import sequence_agent
from sportsfeed_stream_processor.activity import ProviderActivity, encode_activity
from sportsfeed_stream_processor.app import StreamProcessor, build
from sportsfeed_stream_processor.outputs import ChangelogRecord
from sportsfeed_stream_processor.placement import partition_of
from sportsfeed_stream_processor.processor import BatchResult
from sportsfeed_stream_processor.sequencing import decode_state
from sportsfeed_stream_processor.settings import ProcessorSettings

NOW = int(datetime(2026, 11, 23, 7, 20, tzinfo=UTC).timestamp()) * 1000  # the test's clock starts here
T0 = datetime(2026, 11, 23, 7, 19, 30, tzinfo=UTC)  # provider time of the first update


class Clock:
    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> int:
        return self.now


@dataclass
class Recorded:
    live: list[LiveUpdate] = field(default_factory=list)
    alerts: list[Alert] = field(default_factory=list)
    parked: list[tuple[bytes, str]] = field(default_factory=list)
    not_live: list[tuple[bytes, bytes]] = field(default_factory=list)  # passed on unsequenced, for storage
    uncounted: set[str] = field(default_factory=set)  # ids of LiveUpdates folded into no series
    activity_reports: list[ProviderActivity] = field(default_factory=list)
    changelog: list[tuple[str, bytes, bytes, int]] = field(default_factory=list)  # (table, key, value, partition)

    async def publish(self, result: BatchResult) -> Awaitable[None]:
        self.live += result.live
        self.alerts += result.alerts
        self.parked += [(parked.value, parked.error) for parked in result.parked]
        self.not_live += result.not_live
        self.uncounted |= result.uncounted
        acknowledged = asyncio.get_running_loop().create_future()
        acknowledged.set_result(None)  # at once
        return acknowledged

    async def store(self, records: list[ChangelogRecord]) -> None:
        self.changelog += [(record.table.name, record.key, record.value, record.partition) for record in records]

    async def alert(self, alert: Alert) -> None:
        self.alerts.append(alert)

    async def activity(self, activity: ProviderActivity) -> None:
        self.activity_reports.append(activity)

    def kinds(self) -> list[str]:
        return [alert.kind for alert in self.alerts]


@dataclass
class Processor:
    parts: StreamProcessor
    clock: Clock
    recorded: Recorded
    game_states: Any  # the faust table
    app: Any
    offsets: Counter[int] = field(default_factory=Counter)  # next offset per partition


@pytest.fixture
async def processor() -> AsyncIterator[Processor]:
    settings = load_settings(ProcessorSettings, {
        "KAFKA_BOOTSTRAP_SERVERS": "127.0.0.1:1", "MOVEMENT_THRESHOLDS": "*=0.02,tennis=0.2",
        "STALE_AFTER_SECONDS": "10", "PROVIDER_DOWN_AFTER_SECONDS": "30", "RATE_LOW_THRESHOLDS": "*=3",
    })
    clock, recorded = Clock(), Recorded()
    parts = build(settings, clock=clock, outputs=recorded, loop=asyncio.get_running_loop())
    app = parts.app
    app.finalize()
    app.conf.store = "memory://"
    app.flow_control.resume()
    yield Processor(parts, clock, recorded, app.tables["game-states"], app)
    await release(app)


async def release(app: faust.App) -> None:
    """What ``test_context`` leaves open: the consumer it creates owns an event loop for its thread,
    and writing to a table creates a producer. Closed here, or they leak into later tests."""
    if app._consumer is not None:
        app._consumer._thread.thread_loop.close()
    if app._producer is not None:
        await app._producer.stop()


def update(game: str, seconds: float, home_odds: float, away_odds: float = -110, market: str = "spread",
           provider: str = "acme", **fields) -> OddsUpdate:
    return OddsUpdate(provider=provider, game_id=game, market=market, ts=T0 + timedelta(seconds=seconds),
                      home_odds=home_odds, away_odds=away_odds, **fields)


async def put_all(processor: Processor, updates: list[OddsUpdate]) -> None:
    async with processor.parts.sequence_updates.test_context() as agent:
        for item in updates:
            processor.clock.now += 10
            await put_in_order(processor, agent, encode(item), item.game_id.encode(),
                               partition_of(item.game_id, 12))


async def put_in_order(processor: Processor, agent: Any, value: bytes, key: bytes, partition: int) -> None:
    """Put a message at its partition's next offset, as Kafka numbers them (the test context counts
    across partitions, which would read as skipped input)."""
    agent.sent_offset = processor.offsets[partition]
    processor.offsets[partition] += 1
    await agent.put(value=value, key=key, partition=partition)


async def test_seq_is_gap_free_per_game_and_replays_get_none(processor: Processor) -> None:
    updates = [update(f"game-{n % 3}", n, -110 - n) for n in range(30)]
    await put_all(processor, updates + updates[10:20])  # ten replayed
    by_game: dict[str, list[int]] = {}
    for live in processor.recorded.live:
        by_game.setdefault(live.game_id, []).append(live.seq)
    assert by_game == {f"game-{g}": list(range(1, 11)) for g in range(3)}
    assert [live.id for live in processor.recorded.live] == [u.id for u in updates]
    # The replays are passed on as they came, for persistence to store where the table lacks them.
    assert processor.recorded.not_live == [(u.game_id.encode(), encode(u)) for u in updates[10:20]]


async def test_movement_uses_the_sports_threshold(processor: Processor) -> None:
    processor.parts.feed_health.stale_games.status("game-t", live=False, now_ms=NOW)
    await put_all(processor, [update("game-s", 0, -110), update("game-s", 1, -150)])
    moved = [alert for alert in processor.recorded.alerts if alert.kind == "movement"]
    assert [a.game_id for a in moved] == ["game-s"] and processor.recorded.live[1].movement


async def test_market_status_changes_are_alerted(processor: Processor) -> None:
    await put_all(processor, [update("game-1", 0, -110), update("game-1", 1, -110, status="suspended"),
                              update("game-1", 2, -110)])
    suspended = [a for a in processor.recorded.alerts if a.kind == "suspended"]
    assert [(a.details.status, a.severity) for a in suspended] == [("suspended", "warning"), ("open", "info")]


async def test_candles_and_counts_fold_every_new_update_once(processor: Processor) -> None:
    updates = [update("game-1", n * 10, -110 - n, provider=p) for n in range(9) for p in ("acme", "beta")]
    await put_all(processor, updates + updates[:4])  # replays change nothing
    state = decode_state(processor.game_states[b"game-1"])
    minutes = sorted((c.minute, c.provider, c.count, c.home.open, c.home.close) for c in state.candles.values())
    # ts from 07:19:30: minute 07:19 holds n = 0..2, 07:20 n = 3..8; a candle per provider.
    first, second = datetime(2026, 11, 23, 7, 19, tzinfo=UTC), datetime(2026, 11, 23, 7, 20, tzinfo=UTC)
    assert minutes == [(first, p, 3, -110, -112) for p in ("acme", "beta")] + [
        (second, p, 6, -113, -118) for p in ("acme", "beta")]
    assert state.counts == {f"{p}|{m}": c for p in ("acme", "beta") for m, c in ((NOW // 1000 - 60, 3), (NOW // 1000, 6))}


async def test_an_update_older_than_the_series_horizon_goes_live_uncounted(processor: Processor) -> None:
    recent, old = update("game-1", 0, -110), update("game-1", -1800, -120, market="total")  # 30 min before
    await put_all(processor, [recent, old])
    assert [live.seq for live in processor.recorded.live] == [1, 2]
    # Persistence counts the old one when it stores it (UNCOUNTED_HEADER); the series have only the recent one.
    assert processor.recorded.uncounted == {processor.recorded.live[1].id}
    state = decode_state(processor.game_states.data[b"game-1"])
    assert [key.split("|")[0] for key in state.candles] == ["spread"]


async def test_undecodable_updates_are_parked_and_the_next_one_goes_on(processor: Processor) -> None:
    async with processor.parts.sequence_updates.test_context() as agent:
        await put_in_order(processor, agent, b"not json", b"game-1", 0)
        await put_in_order(processor, agent, encode(update("game-1", 0, -110)), b"game-1", 0)
    assert processor.recorded.parked[0][0] == b"not json" and len(processor.recorded.live) == 1


class WorkerRestarted(Exception):
    pass


@pytest.fixture
def restarts(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The worker's restarts, recorded; each ends the agent as ``WorkerRestarted`` (instead of an exec)."""
    reasons: list[str] = []

    def restart_worker(reason: str) -> None:
        reasons.append(reason)
        raise WorkerRestarted(reason)

    monkeypatch.setattr(sequence_agent, "restart_worker", restart_worker)
    return reasons


def log_starts_at(processor: Processor, monkeypatch: pytest.MonkeyPatch, earliest: int) -> None:
    async def earliest_offsets(*partitions: Any) -> dict[Any, int]:
        return dict.fromkeys(partitions, earliest)

    monkeypatch.setattr(processor.app.consumer, "earliest_offsets", earliest_offsets)


async def test_input_skipped_by_the_consumer_restarts_the_worker_before_the_batch_is_processed(
        processor: Processor, restarts: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    log_starts_at(processor, monkeypatch, earliest=0)
    await put_all(processor, [update("game-1", 0, -110), update("game-1", 1, -120)])
    partition = partition_of("game-1", 12)
    processor.offsets[partition] += 3  # offsets 2..4 never reach the agent
    await put_all(processor, [update("game-1", 2, -130)])  # the agent ends with WorkerRestarted
    assert restarts == [f"odds.raw partition {partition}: offsets 2..4 were skipped by the consumer"]
    assert [live.seq for live in processor.recorded.live] == [1, 2]  # nothing of the batch went out
    assert [(key, value) for table, key, value, _ in processor.recorded.changelog if table == "input-positions"] \
        == [(f"odds.raw:{partition}".encode(), b"2")]  # still before the skipped offsets


async def test_input_deleted_by_retention_is_accepted_as_gone(
        processor: Processor, restarts: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    log_starts_at(processor, monkeypatch, earliest=5)
    await put_all(processor, [update("game-1", 0, -110)])
    processor.offsets[partition_of("game-1", 12)] += 4  # offsets 1..4 expired before they were read
    await put_all(processor, [update("game-1", 1, -130)])
    assert restarts == [] and [live.seq for live in processor.recorded.live] == [1, 2]


async def test_stale_raised_within_the_interval_and_cleared_on_the_next_update(processor: Processor) -> None:
    health, clock = processor.parts.feed_health, processor.clock
    health.stale_games.status("game-live", live=True, now_ms=clock.now)
    await put_all(processor, [update("game-live", 0, -110)])
    last_update = clock.now
    # The worker owns every partition in this test (no consumer): only the clock matters.
    health.stale_games.check(clock.now)  # nothing yet
    clock.now = last_update + 10_000
    stale = health.stale_games.check(clock.now)
    assert [(a.kind, a.game_id, a.details.cleared) for a in stale] == [("stale", "game-live", False)]
    await put_all(processor, [update("game-live", 1, -110)])
    assert processor.recorded.alerts[-1].kind == "stale" and processor.recorded.alerts[-1].details.cleared


async def test_provider_down_up_and_rate_low_from_provider_activity(processor: Processor) -> None:
    parts, clock = processor.parts, processor.clock
    minute = NOW // 1000

    async def report(agent, at_ms: int, minutes: dict[int, int]) -> None:
        clock.now = at_ms
        await agent.put(value=encode_activity(ProviderActivity(provider="acme", minutes=minutes)), key=b"acme")

    async with parts.watch_providers.test_context() as agent:
        await report(agent, NOW + 1, {minute: 1})  # first seen mid-minute: that minute is not judged
        await report(agent, NOW + 60_001, {minute + 60: 2})
        await report(agent, NOW + 120_000, {minute + 120: 5})
        low = parts.feed_health.provider_health.check(NOW + 120_001)
        assert [(a.kind, a.details.count, a.details.threshold) for a in low] == [("rate_low", 2, 3)]
        down = parts.feed_health.provider_health.check(NOW + 150_000)  # 30 s without activity
        assert [a.kind for a in down] == ["provider_down"]
        await report(agent, NOW + 155_000, {minute + 120: 1})
    assert processor.recorded.kinds()[-1] == "provider_up"


async def test_activity_of_sequenced_updates_is_reported_per_provider(processor: Processor) -> None:
    await put_all(processor, [update("game-1", 0, -110, provider="acme"), update("game-1", 0, -110, provider="beta"),
                              update("game-2", 1, -110, provider="acme")])
    activity = processor.parts.processor.take_activity()
    assert activity == {"acme": {NOW // 1000: 2}, "beta": {NOW // 1000: 1}}
    assert processor.parts.processor.take_activity() == {}


def test_games_are_placed_where_producers_put_them() -> None:
    """Stale checks cover only the games whose partition this worker owns: the same placement as the
    producers of odds.raw (aiokafka's default partitioner, murmur2 like the Java client)."""
    partitioner = DefaultPartitioner()
    partitions = list(range(12))
    for n in range(200):
        game = f"game-{n}"
        assert partition_of(game, 12) == partitioner(game.encode(), partitions, partitions)


async def until(condition: Callable[[], bool], what: str, timeout: float = 5.0) -> None:
    """Let the agent run until ``condition`` holds; fail after ``timeout`` seconds."""
    deadline = asyncio.get_running_loop().time() + timeout
    while not condition():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.001)


def stored_seqs(processor: Processor, game: str) -> list[int]:
    """The seq of each state of ``game`` written to the game-states changelog, in order."""
    return [decode_state(value).seq for table, key, value, _ in processor.recorded.changelog
            if table == "game-states" and key == game.encode()]


async def test_the_next_batch_is_decided_while_kafka_acknowledges_the_one_before_which_is_stored_first(
        processor: Processor) -> None:
    acknowledged = asyncio.Event()
    publish = processor.recorded.publish

    async def held(result: BatchResult) -> Awaitable[None]:
        await publish(result)
        return acknowledged.wait()

    processor.recorded.publish = held  # type: ignore[method-assign]
    async with processor.parts.sequence_updates.test_context() as agent:
        first, second = update("game-1", 0, -110), update("game-1", 1, -120)
        partition = partition_of("game-1", 12)
        await put_in_order(processor, agent, encode(first), b"game-1", partition)
        await until(lambda: len(processor.recorded.live) == 1, "the first batch's output")
        await put_in_order(processor, agent, encode(second), b"game-1", partition)
        # The second batch sequenced on from the first's state, which is not stored yet.
        await until(lambda: len(processor.recorded.live) == 2, "the second batch's output")
        assert [live.seq for live in processor.recorded.live] == [1, 2]
        assert processor.recorded.changelog == []
        acknowledged.set()
        await until(lambda: len(stored_seqs(processor, "game-1")) == 2, "both batches stored")
    assert stored_seqs(processor, "game-1") == [1, 2]


async def test_a_batch_kafka_does_not_acknowledge_restarts_the_worker_before_its_state_is_stored(
        processor: Processor, restarts: list[str]) -> None:
    publish = processor.recorded.publish

    async def refused(result: BatchResult) -> Awaitable[None]:
        await publish(result)

        async def fail() -> None:
            raise KafkaTimeoutError("no acknowledgement")
        return fail()

    processor.recorded.publish = refused  # type: ignore[method-assign]
    with contextlib.suppress(WorkerRestarted):
        async with processor.parts.sequence_updates.test_context() as agent:
            await put_in_order(processor, agent, encode(update("game-1", 0, -110)), b"game-1",
                               partition_of("game-1", 12))
            await until(lambda: restarts != [], "the worker to restart")
    assert restarts == ["a batch was not acknowledged by Kafka: KafkaTimeoutError('no acknowledgement')"]
    assert processor.recorded.changelog == []  # neither the game's state nor the input position moved
