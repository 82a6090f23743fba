"""The stream processor as a faust app: one agent sequencing ``odds.raw``, one watching providers.

Processing guarantee: at-least-once with idempotent outputs (see
docs/decisions.md). The agent takes events in batches; for each batch it
publishes the outputs and waits for Kafka's acknowledgements, then writes the
game states and input positions to their tables' changelogs (with the game's
own partition, which faust would take from the "current" event) and waits
again, and only then acks the events. After a crash a replayed update finds
its game's state (and gets no second seq), or finds the state from before it
(and gets the same seq again, an identical record that consumers drop by seq).
"""

from __future__ import annotations

import asyncio
import logging
import os
import sys
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, NoReturn, Protocol

import aioboto3
import faust
from faust.types import TP
from sportsfeed_common.aws import dynamodb_client_kwargs
from sportsfeed_common.batch_writer import BatchWriter
from sportsfeed_common.events import Alert, Game, encode, now_millis
from sportsfeed_common.faust_worker import (
    AiohttpServer,
    ConsumerLag,
    broker_credentials,
    take_arrived,
)
from sportsfeed_common.kafka_security import aiokafka_security
from sportsfeed_common.topics import (
    NOT_LIVE_HEADER,
    ODDS_ALERTS,
    ODDS_LIVE,
    ODDS_RAW,
    PROVIDER_ACTIVITY,
    TopicSpec,
    create_topics,
    dead_letter,
    dead_letter_headers,
)

from .activity import ProviderActivity, decode_activity, encode_activity
from .alerts import ProviderHealth, StaleGames, alert_key, parse_rate_thresholds
from .directory import GameDirectory
from .metrics import ProcessorMetrics
from .placement import partition_of
from .positions import InputPositions, position_key
from .pricing import MovementThresholds
from .processor import BatchResult, OddsProcessor
from .sequencing import encode_state
from .series_writer import SeriesWriter
from .settings import ProcessorSettings
from .web import create_web_app

log = logging.getLogger(__name__)

LAG_REPORT_INTERVAL_SECONDS = 5.0


TABLES = ("game-states", "input-positions")


def changelog_topics(settings: ProcessorSettings) -> tuple[TopicSpec, ...]:
    """The tables' changelog topics, named as faust names them, partitioned like ``odds.raw``."""
    return tuple(TopicSpec(f"{settings.consumer_group}-{name}-changelog", ODDS_RAW.partitions,
                           {"cleanup.policy": "compact"}) for name in TABLES)


async def ensure_changelog_topics(settings: ProcessorSettings) -> None:
    report = await create_topics(settings.kafka_bootstrap_servers, changelog_topics(settings),
                                 replication_factor=settings.topic_replication_factor,
                                 client_kwargs=aiokafka_security(settings.kafka_security_protocol))
    if report.mismatched:
        raise RuntimeError(f"changelog topics with the wrong partition count: {report.mismatched}")
    for name in report.created:
        log.info("changelog topic created", extra={"topic": name})


def create_app(settings: ProcessorSettings, metrics: ProcessorMetrics | None = None,
               clock: Callable[[], int] = now_millis, outputs: Outputs | None = None,
               loop: asyncio.AbstractEventLoop | None = None) -> faust.App:
    """The worker's faust app. Tests replace ``clock`` (epoch ms) and ``outputs``, and give their ``loop``."""
    metrics = metrics or ProcessorMetrics()
    app = faust.App(
        settings.consumer_group,
        loop=loop,
        broker=[f"kafka://{server.strip()}" for server in settings.kafka_bootstrap_servers.split(",")],
        broker_credentials=broker_credentials(settings.kafka_security_protocol),
        store="memory://",
        datadir=settings.data_dir,
        # Every topic exists before the worker starts: ours from sportsfeed-admin, the tables'
        # changelogs from ensure_changelog_topics (faust's own declaring races its first rebalance).
        topic_allow_declare=False,
        topic_disable_leader=True,
        # Standby copies would land in the same in-memory store as the active partitions, and the
        # series writer would then write other workers' (older) state over theirs.
        table_standby_replicas=0,
        consumer_auto_offset_reset="earliest",
        consumer_group_instance_id=settings.consumer_group_instance_id,
        broker_session_timeout=settings.consumer_session_timeout_seconds,
        broker_heartbeat_interval=min(3.0, settings.consumer_session_timeout_seconds / 3),
        producer_acks=-1,
        # Every output is on the push path: no linger. The outputs of a batch are sent in one go
        # (nothing awaits between them), so they still share produce requests; 1 MB batches let
        # one request carry a whole batch.
        producer_linger=0.0,
        producer_max_batch_size=1_000_000,
        web_enabled=True,  # served by the aiohttp app registered below
        key_serializer="raw",
        value_serializer="raw",
    )

    def table(name: str) -> Any:
        assert name in TABLES
        # Keys and values are bytes, through the app's raw serializers.
        return app.Table(name, key_type=bytes, value_type=bytes, partitions=ODDS_RAW.partitions)

    game_states, input_positions = (table(name) for name in TABLES)
    positions = InputPositions(input_positions)
    accepted = app.topic(ODDS_RAW.name, key_type=bytes, value_type=bytes)
    activity_topic = app.topic(PROVIDER_ACTIVITY.name, key_type=bytes, value_type=bytes)

    stale_games = StaleGames(int(settings.stale_after_seconds * 1000))
    provider_health = ProviderHealth(int(settings.provider_down_after_seconds * 1000),
                                     parse_rate_thresholds(settings.rate_low_thresholds))

    def game_changed(game: Game) -> None:
        stale_games.status(game.game_id, game.status == "live", clock())

    directory = GameDirectory(settings.kafka_bootstrap_servers, game_changed,
                              **aiokafka_security(settings.kafka_security_protocol))
    app.web_server(AiohttpServer(create_web_app(settings, metrics, directory), settings.host, settings.port))

    outputs = outputs or KafkaOutputs(app, metrics)
    processor = OddsProcessor(
        game_states=game_states, thresholds=MovementThresholds.parse(settings.movement_thresholds),
        sport_of=directory.sport, stale_games=stale_games, horizon_minutes=settings.series_horizon_minutes,
        clock=clock)
    series = SeriesWriters()
    lag = ConsumerLag(metrics.consumer_lag)

    async def store_states(result: BatchResult, offsets: list[tuple[int, int]]) -> None:
        """Store the batch's game states and input positions, and wait until Kafka has them.

        Only then may the events be acked.

        This is what ``Table.__setitem__`` does, except that the changelog partition is the game's
        (faust takes the "current event"'s, which in a batch is only the last one's), and that the
        records are acknowledged before the offsets move on: faust's pre-commit flush gives up on
        its send buffer after 0.1 s, so under load it can commit offsets ahead of the changelog, and
        a crash then loses state that the replay will not rebuild.
        """
        records = []
        for game_key, (partition, state) in result.states.items():
            game_states.data[game_key] = value = encode_state(state)
            records.append(ChangelogRecord(game_states, game_key, value, partition))
        for partition, offset in positions.advanced(offsets).items():
            input_positions.data[key := position_key(partition)] = value = str(offset).encode()
            records.append(ChangelogRecord(input_positions, key, value, partition))
        await outputs.store(records)

    async def restart_if_input_skipped(offsets: list[tuple[int, int]]) -> None:
        """Restart the worker if faust skipped input (see positions.py); accept only what retention deleted."""
        skip = positions.first_skip(offsets)
        if skip is None:
            return
        tp = TP(ODDS_RAW.name, skip.partition)
        earliest = (await app.consumer.earliest_offsets(tp)).get(tp)
        if earliest is not None and earliest >= skip.received:
            metrics.expired_unprocessed.inc(skip.received - skip.expected)
            log.error("accepted updates deleted by retention before they were processed",
                      extra={"partition": skip.partition, "from_offset": skip.expected,
                             "to_offset": skip.received - 1})
            return
        restart_worker(skip.describe())

    @app.agent(accepted, concurrency=1)
    async def sequence_updates(stream: faust.StreamT) -> None:
        async for events in take_arrived(stream, settings.batch_max_messages):
            metrics.batch_messages.observe(len(events))
            offsets = [(e.message.partition, e.message.offset) for e in events]
            await restart_if_input_skipped(offsets)
            result = processor.process([(e.message.partition, e.message.offset, e.key, e.value) for e in events])
            # Published and acknowledged first, stored second: see processor.py.
            await outputs.publish(result)
            await store_states(result, offsets)
            series.changed(result)
            metrics.processed.labels("live").inc(len(result.live))
            metrics.processed.labels("not_new").inc(len(result.not_live))
            metrics.processed.labels("parked").inc(len(result.parked))
            lag.processed(events)

    @app.agent(activity_topic, concurrency=1)
    async def watch_providers(stream: faust.StreamT) -> None:
        async for value in stream:
            activity = decode_activity(value)
            back = provider_health.seen(activity.provider, activity.minutes, clock())
            if back is not None:
                await outputs.alert(back)

    @app.task
    async def follow_games() -> None:
        await directory.run()

    assignment = Assignment()

    async def check_feed_health() -> None:
        """Stale games this worker owns; its provider activity out; its providers' health."""
        now = clock()
        assigned = {tp.partition for tp in app.consumer.assignment() if tp.topic == ODDS_RAW.name}
        for alert in stale_games.check(now, owned=lambda game_id: partition_of(
                game_id, ODDS_RAW.partitions) in assigned):
            await outputs.alert(alert)
        for provider, minutes in processor.take_activity().items():
            await outputs.activity(ProviderActivity(provider=provider, minutes=minutes))
        for alert in provider_health.check(now):
            await outputs.alert(alert)

    app.timer(settings.check_interval_seconds)(check_feed_health)

    @app.task
    async def write_series() -> None:
        """Every series write interval, write the candles and counts that changed (runs until the worker stops)."""
        async with aioboto3.Session().client("dynamodb", **dynamodb_client_kwargs(settings, bulk_writer=True)) as client:
            writer = series.open(SeriesWriter(
                BatchWriter(client, settings.dynamodb_table), game_states,
                timedelta(days=settings.series_retention_days), settings.series_horizon_minutes, clock))
            while True:
                await asyncio.sleep(settings.series_write_interval_seconds)  # a period, not a wait for something
                if app.rebalancing or app.in_recovery:
                    continue  # the table is being restored: write once it is whole
                if assignment.changed(app.consumer.assignment()):
                    writer.mark_all_dirty()
                try:
                    report = await writer.flush()
                except Exception:
                    log.exception("writing candles and counts failed; retrying at the next interval")
                    continue
                if report is not None:
                    metrics.series_items_written.inc(report.items)

    @app.timer(LAG_REPORT_INTERVAL_SECONDS)
    async def report_consumer_lag() -> None:
        await lag.report(app.consumer)

    app.runtime = Runtime(processor, stale_games, provider_health, check_feed_health,  # type: ignore[attr-defined]
                          sequence_updates, watch_providers)
    return app


def restart_worker(reason: str) -> NoReturn:
    """Replace this process with a fresh one, which resumes from the committed offsets.

    Nothing of the current batch is acknowledged, and the position table is written only after
    outputs, so the new process reads the skipped messages again. The same pid keeps the launcher's
    and Kubernetes' view of the worker intact.
    """
    log.error("restarting the worker to read skipped input again", extra={"reason": reason})
    logging.shutdown()
    os.execv(sys.executable, sys.orig_argv)


@dataclass(frozen=True)
class ChangelogRecord:
    table: Any  # the faust table whose changelog gets the record
    key: bytes
    value: bytes
    partition: int


class Outputs(Protocol):
    async def publish(self, result: BatchResult) -> None:
        """Publish a batch's LiveUpdates, alerts and dead letters; return once Kafka acknowledged all."""

    async def store(self, records: list[ChangelogRecord]) -> None:
        """Write table records to their changelogs; return once Kafka acknowledged all."""

    async def alert(self, alert: Alert) -> None: ...
    async def activity(self, activity: ProviderActivity) -> None: ...


class KafkaOutputs:
    """Where the processor's results go: odds.live, odds.alerts, odds.raw.dlq, provider.activity."""

    def __init__(self, app: faust.App, metrics: ProcessorMetrics) -> None:
        self._app = app
        self._metrics = metrics
        self._alerts = app.topic(ODDS_ALERTS.name, key_type=bytes, value_type=bytes)
        self._parked = app.topic(dead_letter(ODDS_RAW).name, key_type=bytes, value_type=bytes)
        self._activity = app.topic(PROVIDER_ACTIVITY.name, key_type=bytes, value_type=bytes)

    async def publish(self, result: BatchResult) -> None:
        # Straight to the producer: faust's Topic.send machinery costs more than the send itself,
        # and this is once per update.
        producer = self._app.producer
        deliveries = [await producer.send(ODDS_LIVE.name, update.game_id.encode(), encode(update), None, None, None)
                      for update in result.live]
        deliveries += [await producer.send(ODDS_LIVE.name, key, value, None, None, [NOT_LIVE_HEADER])
                       for key, value in result.not_live]
        deliveries += [await self._send_alert(alert) for alert in result.alerts]
        for parked in result.parked:
            deliveries.append(await self._parked.send(key=parked.key, value=parked.value, headers=dead_letter_headers(
                ODDS_RAW.name, parked.partition, parked.offset, parked.error)))
            log.warning("message parked in the dead-letter topic",
                        extra={"partition": parked.partition, "error": parked.error})
        await asyncio.gather(*deliveries)
        acknowledged = now_millis()
        for update in result.live:
            if update.trace.ingested_at is not None:
                self._metrics.ingested_to_live_seconds.observe((acknowledged - update.trace.ingested_at) / 1000)

    async def store(self, records: list[ChangelogRecord]) -> None:
        producer = self._app.producer
        await asyncio.gather(*[await producer.send(record.table.changelog_topic.get_topic_name(), record.key,
                                                   record.value, record.partition, None, None)
                               for record in records])

    async def _send_alert(self, alert: Alert) -> Any:
        self._metrics.alerts.labels(alert.kind).inc()
        return await self._alerts.send(key=alert_key(alert), value=encode(alert))

    async def alert(self, alert: Alert) -> None:
        await self._send_alert(alert)

    async def activity(self, activity: ProviderActivity) -> None:
        await self._activity.send(key=activity.provider.encode(), value=encode_activity(activity))


@dataclass(frozen=True)
class Runtime:
    """The app's working parts, for tests (driven through ``agent.test_context()``) and the benchmark."""

    processor: OddsProcessor
    stale_games: StaleGames
    provider_health: ProviderHealth
    check_feed_health: Callable[[], Awaitable[None]]
    sequence_updates: Any
    watch_providers: Any


class SeriesWriters:
    """Hands batches' changes to the series writer once it is open (its DynamoDB client is opened
    by the task that runs it, after the agent may already have processed a batch)."""

    def __init__(self) -> None:
        self._writer: SeriesWriter | None = None

    def open(self, writer: SeriesWriter) -> SeriesWriter:
        self._writer = writer
        return writer

    def changed(self, result: BatchResult) -> None:
        if self._writer is not None:
            self._writer.changed(result)


class Assignment:
    """Notices when the worker's partitions changed since it last looked."""

    def __init__(self) -> None:
        self._last: frozenset[Any] | None = None

    def changed(self, current: set[Any]) -> bool:
        snapshot = frozenset(current)
        changed, self._last = snapshot != self._last, snapshot
        return changed

