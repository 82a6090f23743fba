"""The stream processor as a faust app: one agent sequencing ``odds.stored``, one watching providers.

Processing guarantee: at-least-once with idempotent outputs (see
docs/decisions.md). The agent handles one event at a time, because faust
writes a table's changelog to the partition of the *current* event, which in
a batch would be the last one's. Outputs go through faust's producer, which
is flushed before offsets are committed, and the state is in changelog-backed
tables, so after a crash a replayed update finds its game's state (and gets no
second seq), or finds the state from before it (and gets the same seq again,
an identical record that consumers drop by seq).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import aioboto3
import faust
from aiokafka.partitioner import murmur2
from sportsfeed_common.aws import dynamodb_client_kwargs
from sportsfeed_common.batch_writer import BatchWriter
from sportsfeed_common.events import Alert, Game, LiveUpdate, encode
from sportsfeed_common.faust_worker import AiohttpServer, ConsumerLag
from sportsfeed_common.topics import (
    ODDS_ALERTS,
    ODDS_LIVE,
    ODDS_STORED,
    PROVIDER_ACTIVITY,
    TopicSpec,
    create_topics,
    dead_letter,
)

from .activity import ProviderActivity, decode_activity, encode_activity
from .alerts import ProviderHealth, StaleGames, alert_key, parse_rate_thresholds
from .directory import GameDirectory
from .metrics import ProcessorMetrics
from .pricing import MovementThresholds
from .processor import OddsProcessor, wall_clock_ms
from .series_writer import SeriesWriter
from .settings import ProcessorSettings
from .web import create_web_app

log = logging.getLogger(__name__)

LAG_REPORT_INTERVAL_SECONDS = 5.0


TABLES = ("game-states", "candles", "counts")


def changelog_topics(settings: ProcessorSettings) -> tuple[TopicSpec, ...]:
    """The tables' changelog topics, named as faust names them, partitioned like ``odds.stored``."""
    return tuple(TopicSpec(f"{settings.consumer_group}-{name}-changelog", ODDS_STORED.partitions,
                           {"cleanup.policy": "compact"}) for name in TABLES)


async def ensure_changelog_topics(settings: ProcessorSettings) -> None:
    report = await create_topics(settings.kafka_bootstrap_servers, changelog_topics(settings),
                                 replication_factor=settings.topic_replication_factor)
    if report.mismatched:
        raise RuntimeError(f"changelog topics with the wrong partition count: {report.mismatched}")
    for name in report.created:
        log.info("changelog topic created", extra={"topic": name})


def partition_of(game_id: str, partitions: int) -> int:
    """The partition Kafka's default partitioner gives a game (Java-compatible murmur2, as every producer uses)."""
    return (murmur2(game_id.encode()) & 0x7FFFFFFF) % partitions


def create_app(settings: ProcessorSettings, metrics: ProcessorMetrics | None = None,
               clock: Callable[[], int] = wall_clock_ms) -> faust.App:
    metrics = metrics or ProcessorMetrics()
    app = faust.App(
        settings.consumer_group,
        broker=[f"kafka://{server.strip()}" for server in settings.kafka_bootstrap_servers.split(",")],
        store="memory://",
        # Every topic exists before the worker starts: ours from sportsfeed-admin, the tables'
        # changelogs from ensure_changelog_topics (faust's own declaring races its first rebalance).
        topic_allow_declare=False,
        topic_disable_leader=True,
        # Standby copies would land in the same in-memory store as the active partitions, and the
        # series writer would then write other workers' (older) state over theirs.
        table_standby_replicas=0,
        consumer_auto_offset_reset="earliest",
        broker_session_timeout=settings.consumer_session_timeout_seconds,
        broker_heartbeat_interval=min(3.0, settings.consumer_session_timeout_seconds / 3),
        producer_acks=-1,
        web_enabled=True,  # served by the aiohttp app registered below
        key_serializer="raw",
        value_serializer="raw",
    )

    def table(name: str) -> Any:
        assert name in TABLES
        # Keys and values are bytes, through the app's raw serializers.
        return app.Table(name, key_type=bytes, value_type=bytes, partitions=ODDS_STORED.partitions)

    game_states, candles, counts = (table(name) for name in TABLES)
    stored = app.topic(ODDS_STORED.name, key_type=bytes, value_type=bytes)
    live_topic = app.topic(ODDS_LIVE.name, key_type=bytes, value_type=bytes)
    alerts_topic = app.topic(ODDS_ALERTS.name, key_type=bytes, value_type=bytes)
    activity_topic = app.topic(PROVIDER_ACTIVITY.name, key_type=bytes, value_type=bytes)
    parked_topic = app.topic(dead_letter(ODDS_STORED).name, key_type=bytes, value_type=bytes)

    stale_games = StaleGames(int(settings.stale_after_seconds * 1000))
    provider_health = ProviderHealth(int(settings.provider_down_after_seconds * 1000),
                                     parse_rate_thresholds(settings.rate_low_thresholds))

    def game_changed(game: Game) -> None:
        stale_games.status(game.game_id, game.status == "live", clock())

    directory = GameDirectory(settings.kafka_bootstrap_servers, game_changed)
    app.web_server(AiohttpServer(create_web_app(settings, metrics, directory), settings.host, settings.port))

    async def send_live(update: LiveUpdate) -> None:
        await live_topic.send(key=update.game_id.encode(), value=encode(update))
        if update.trace.stored_at is not None and update.trace.processed_at is not None:
            metrics.stored_to_live_seconds.observe((update.trace.processed_at - update.trace.stored_at) / 1000)

    async def send_alert(alert: Alert) -> None:
        await alerts_topic.send(key=alert_key(alert), value=encode(alert))
        metrics.alerts.labels(alert.kind).inc()

    async def park(partition: int, key: bytes | None, value: bytes, error: str) -> None:
        await parked_topic.send(key=key, value=value, headers=[
            ("error", error.encode()[:1000]), ("source-topic", ODDS_STORED.name.encode()),
            ("source-partition", str(partition).encode())])
        log.warning("message parked in the dead-letter topic", extra={"partition": partition, "error": error})

    processor = OddsProcessor(
        game_states=game_states, candles=candles, counts=counts, send_live=send_live, send_alert=send_alert,
        park=park, thresholds=MovementThresholds.parse(settings.movement_thresholds), sport_of=directory.sport,
        stale_games=stale_games, horizon_minutes=settings.series_horizon_minutes, clock=clock)
    lag = ConsumerLag(metrics.consumer_lag)

    @app.agent(stored, concurrency=1)
    async def sequence_updates(stream: faust.StreamT) -> None:
        async for event in stream.events():
            outcome = await processor.handle(event.message.partition, event.key, event.value)
            metrics.processed.labels("parked" if outcome.parked else "live" if outcome.live else "not_new").inc()
            lag.processed([event])

    @app.agent(activity_topic, concurrency=1)
    async def watch_providers(stream: faust.StreamT) -> None:
        async for value in stream:
            activity = decode_activity(value)
            back = provider_health.seen(activity.provider, activity.minutes, clock())
            if back is not None:
                await send_alert(back)

    @app.task
    async def follow_games() -> None:
        await directory.run()

    assignment = Assignment()

    @app.timer(settings.check_interval_seconds)
    async def check_feed_health() -> None:
        now = clock()
        assigned = {tp.partition for tp in app.consumer.assignment() if tp.topic == ODDS_STORED.name}
        for alert in stale_games.check(now, owned=lambda game_id: partition_of(
                game_id, ODDS_STORED.partitions) in assigned):
            await send_alert(alert)
        for provider, minutes in processor.take_activity().items():
            await activity_topic.send(key=provider.encode(),
                                      value=encode_activity(ProviderActivity(provider=provider, minutes=minutes)))
        for alert in provider_health.check(now):
            await send_alert(alert)

    @app.task
    async def write_series() -> None:
        """Every check interval, write the candles and counts that changed (runs until the worker stops)."""
        async with aioboto3.Session().client("dynamodb", **dynamodb_client_kwargs(settings)) as client:
            writer = SeriesWriter(BatchWriter(client, settings.dynamodb_table), candles, counts,
                                  timedelta(days=settings.series_retention_days))
            while True:
                await asyncio.sleep(settings.check_interval_seconds)  # a period, not a wait for something
                if app.rebalancing or app.in_recovery:
                    continue  # the tables are being restored: write them once they are whole
                if assignment.changed(app.consumer.assignment()):
                    writer.mark_all_dirty(processor)
                try:
                    report = await writer.flush(processor)
                except Exception:
                    log.exception("writing candles and counts failed; retrying at the next interval")
                    continue
                if report is not None:
                    metrics.series_items_written.inc(report.items)

    @app.timer(LAG_REPORT_INTERVAL_SECONDS)
    async def report_consumer_lag() -> None:
        await lag.report(app.consumer)

    app.processor = processor  # type: ignore[attr-defined]  # for tests and the benchmark
    return app


class Assignment:
    """Notices when the worker's partitions changed since it last looked."""

    def __init__(self) -> None:
        self._last: frozenset[Any] | None = None

    def changed(self, current: set[Any]) -> bool:
        snapshot = frozenset(current)
        changed, self._last = snapshot != self._last, snapshot
        return changed

