"""The stream processor as a faust app: the sequencing agent of ``odds.raw`` (sequence_agent.py),
the provider-activity agent and feed-health timer (feed_health.py), the series writer task
(series_task.py), its outputs (outputs.py) and its HTTP side (web.py), wired together here.

Processing guarantee: at-least-once with idempotent outputs (docs/decisions.md).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import faust
from sportsfeed_common.events import Game
from sportsfeed_common.faust_worker import bytes_topic, track_consumer_lag, worker_app
from sportsfeed_common.kafka_security import KafkaSecurity, aiokafka_security
from sportsfeed_common.times import now_millis
from sportsfeed_common.topics import ODDS_RAW, PROVIDER_ACTIVITY, TopicSpec, create_topics

from .alerts import ProviderHealth, StaleGames, parse_rate_thresholds
from .directory import GameDirectory
from .feed_health import FeedHealth
from .metrics import ProcessorMetrics
from .outputs import KafkaOutputs, Outputs
from .pricing import MovementThresholds
from .processor import OddsProcessor
from .sequence_agent import SequenceAgent
from .series_task import SeriesWriters, write_series
from .settings import ProcessorSettings
from .web import create_web_app

log = logging.getLogger(__name__)

TABLES = ("game-states", "input-positions")


def changelog_topics(settings: ProcessorSettings) -> tuple[TopicSpec, ...]:
    """The tables' changelog topics, named as faust names them, partitioned like ``odds.raw``."""
    return tuple(TopicSpec(f"{settings.consumer_group}-{name}-changelog", ODDS_RAW.partitions,
                           {"cleanup.policy": "compact"}) for name in TABLES)


async def ensure_changelog_topics(settings: ProcessorSettings) -> None:
    report = await create_topics(settings.kafka_bootstrap_servers, changelog_topics(settings),
                                 replication_factor=settings.topic_replication_factor,
                                 client_kwargs=aiokafka_security(KafkaSecurity.of(settings)))
    if report.mismatched:
        raise RuntimeError(f"changelog topics with the wrong partition count: {report.mismatched}")
    for name in report.created:
        log.info("changelog topic created", extra={"topic": name})


@dataclass(frozen=True)
class StreamProcessor:
    """The worker's app and its parts (tests drive the agents through ``agent.test_context()``)."""

    app: faust.App
    processor: OddsProcessor
    feed_health: FeedHealth
    sequence_updates: Any  # the faust agent of odds.raw
    watch_providers: Any  # the faust agent of provider.activity


def create_app(settings: ProcessorSettings) -> faust.App:
    return build(settings).app


def build(settings: ProcessorSettings, metrics: ProcessorMetrics | None = None,
          clock: Callable[[], int] = now_millis, outputs: Outputs | None = None,
          loop: asyncio.AbstractEventLoop | None = None) -> StreamProcessor:
    """The worker. Tests replace ``clock`` (epoch ms) and ``outputs``, and give their ``loop``."""
    metrics = metrics or ProcessorMetrics()
    stale_games = StaleGames(int(settings.stale_after_seconds * 1000))

    def game_changed(game: Game) -> None:
        stale_games.status(game.game_id, game.status == "live", clock())

    directory = GameDirectory(settings.kafka_bootstrap_servers, game_changed,
                              **aiokafka_security(KafkaSecurity.of(settings)))
    app = worker_app(
        settings, create_web_app(settings, metrics, directory), loop=loop,
        # Every output is on the push path: no linger. The outputs of a batch are sent in one go
        # (nothing awaits between them), so they still share produce requests.
        producer_linger=0.0,
        # Every topic exists before the worker starts: ours from sportsfeed-admin, the tables'
        # changelogs from ensure_changelog_topics (faust's own declaring races its first rebalance).
        # Standby copies would land in the same in-memory store as the active partitions, and the
        # series writer would then write other workers' (older) state over theirs.
        table_standby_replicas=0,
        consumer_group_instance_id=settings.consumer_group_instance_id,
    )
    # Keys and values are bytes, through the app's raw serializers.
    game_states, input_positions = (app.Table(name, key_type=bytes, value_type=bytes, partitions=ODDS_RAW.partitions)
                                    for name in TABLES)
    outputs = outputs or KafkaOutputs(app, metrics)
    processor = OddsProcessor(
        game_states=game_states, thresholds=MovementThresholds.parse(settings.movement_thresholds),
        sport_of=directory.sport, stale_games=stale_games, horizon_minutes=settings.series_horizon_minutes,
        clock=clock)
    series = SeriesWriters()
    sequencer = SequenceAgent(app, processor, outputs, game_states, input_positions, series,
                              track_consumer_lag(app, metrics.consumer_lag), metrics, settings.batch_max_messages)
    health = FeedHealth(app, processor, stale_games, ProviderHealth(
        int(settings.provider_down_after_seconds * 1000), parse_rate_thresholds(settings.rate_low_thresholds)),
        outputs, clock)

    sequence_updates = app.agent(bytes_topic(app, ODDS_RAW.name), name="sequence_updates",
                                 concurrency=1)(sequencer.run)
    watch_providers = app.agent(bytes_topic(app, PROVIDER_ACTIVITY.name), name="watch_providers",
                                concurrency=1)(health.watch_providers)
    app.timer(settings.check_interval_seconds, name="check_feed_health")(health.check)

    @app.task
    async def follow_games() -> None:
        await directory.run()

    @app.task
    async def write_candles_and_counts() -> None:
        await write_series(app, settings, series, game_states, metrics, clock)

    return StreamProcessor(app, processor, health, sequence_updates, watch_providers)
