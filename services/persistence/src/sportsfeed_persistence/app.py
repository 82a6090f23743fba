"""The persistence worker: one faust app, one agent per input topic (odds.live, games).

The agent consumes with concurrency 1 and takes batches; faust acks a batch's
events only when the loop body returns, so offsets are committed only after a
batch is written, and never past an unwritten message (the
commit-past-in-flight problem of faust-streaming issue #606 needs concurrency
above 1). The body never raises: a batch DynamoDB refuses outright is parked in
the dead-letter topic; anything else is retried, so an exception can never ack
a batch that was not stored.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

import aioboto3
import faust
from sportsfeed_common.aws import dynamodb_client_kwargs
from sportsfeed_common.batch_writer import Backoff, BatchWriter, ItemsRefused
from sportsfeed_common.faust_worker import (
    AiohttpServer,
    ConsumerLag,
    broker_credentials,
)
from sportsfeed_common.topics import (
    GAMES,
    ODDS_LIVE,
    TopicSpec,
    dead_letter,
    dead_letter_headers,
)

from .metrics import PersistenceMetrics
from .readapi import create_read_api
from .settings import PersistenceSettings
from .storing import (
    DeadLetter,
    GamesStorer,
    Message,
    OddsStorer,
)

log = logging.getLogger(__name__)

LAG_REPORT_INTERVAL_SECONDS = 5.0


def create_app(settings: PersistenceSettings, metrics: PersistenceMetrics | None = None) -> faust.App:
    metrics = metrics or PersistenceMetrics()
    app = faust.App(
        settings.consumer_group,
        broker=[f"kafka://{server.strip()}" for server in settings.kafka_bootstrap_servers.split(",")],
        broker_credentials=broker_credentials(settings.kafka_security_protocol),
        store="memory://",
        datadir=settings.data_dir,
        # Topics and partition counts come from `sportsfeed-admin create-topics` only.
        topic_allow_declare=False,
        topic_disable_leader=True,
        consumer_auto_offset_reset="earliest",
        broker_session_timeout=settings.consumer_session_timeout_seconds,
        broker_heartbeat_interval=min(3.0, settings.consumer_session_timeout_seconds / 3),
        producer_acks=-1,
        # faust's defaults (16 KB batches, no linger) turn a batch of outputs into a produce request
        # per few records; 5 ms and 1 MB let one request carry a whole batch.
        producer_linger=0.005,
        producer_max_batch_size=1_000_000,
        web_enabled=True,  # served by the read API registered below, not faust's own web views
        key_serializer="raw",
        value_serializer="raw",
    )
    app.web_server(AiohttpServer(create_read_api(settings, metrics), settings.host, settings.port))
    live = app.topic(ODDS_LIVE.name, key_type=bytes, value_type=bytes)
    games = app.topic(GAMES.name, key_type=bytes, value_type=bytes)

    def parker(source: TopicSpec) -> DeadLetter:
        """Parks undecodable messages of ``source`` in its dead-letter topic, original key and bytes."""
        topic = app.topic(dead_letter(source).name, key_type=bytes, value_type=bytes)

        async def park(message: Message, error: str) -> None:
            delivery = await topic.send(
                key=message.key, value=message.value, headers=dead_letter_headers(source.name, message.partition, message.offset, error)
            )
            await delivery
            log.warning("message parked in the dead-letter topic", extra={
                "topic": source.name, "partition": message.partition, "offset": message.offset, "error": error})

        return park

    def dynamodb() -> Any:
        return aioboto3.Session().client("dynamodb", **dynamodb_client_kwargs(settings, bulk_writer=True))

    @app.agent(live, concurrency=1)
    async def store_odds(stream: faust.StreamT) -> None:
        park = parker(ODDS_LIVE)
        async with dynamodb() as client:
            storer = OddsStorer(BatchWriter(client, settings.dynamodb_table), park,
                                timedelta(days=settings.odds_retention_days),
                                observe_lag=metrics.ingested_to_stored_seconds.observe)
            async for events in stream.take_events(settings.batch_max_messages, within=settings.batch_window_seconds):
                await _store_until_done(storer, _messages(events), park, ODDS_LIVE.name, metrics)
                progress.processed(events)

    @app.agent(games, concurrency=1)
    async def store_games(stream: faust.StreamT) -> None:
        park = parker(GAMES)
        async with dynamodb() as client:
            storer = GamesStorer(BatchWriter(client, settings.dynamodb_table), park)
            async for events in stream.take_events(settings.batch_max_messages, within=settings.batch_window_seconds):
                await _store_until_done(storer, _messages(events), park, GAMES.name, metrics)
                progress.processed(events)

    progress = ConsumerLag(metrics.consumer_lag)

    @app.timer(LAG_REPORT_INTERVAL_SECONDS)
    async def report_consumer_lag() -> None:
        await progress.report(app.consumer)

    return app


def _messages(events: Sequence[faust.EventT]) -> list[Message]:
    return [
        # faust gives the record timestamp in seconds (a float); Kafka keeps milliseconds.
        Message(event.key, event.value, event.message.partition, event.message.offset,
                round(event.message.timestamp * 1000), tuple(event.message.headers or ()))
        for event in events
    ]


async def _store_until_done(storer: OddsStorer | GamesStorer, messages: list[Message], park: DeadLetter,
                            topic: str, metrics: PersistenceMetrics) -> None:
    backoff = Backoff()
    attempt = 0
    while True:
        try:
            metrics.batch_stored(topic, len(messages), await storer.store(messages))
            return
        except ItemsRefused as refused:
            for message in messages:
                await park(message, str(refused))
            metrics.dead_lettered.labels(topic).inc(len(messages))
            return
        except Exception:
            metrics.batch_failures.labels(topic).inc()
            log.exception("storing a batch failed; retrying it", extra={"attempt": attempt})
            await asyncio.sleep(backoff.delay(attempt))
            attempt += 1
