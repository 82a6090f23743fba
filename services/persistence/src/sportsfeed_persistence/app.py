"""The persistence worker: one faust app, one agent per input topic (odds.raw, games).

The agent consumes with concurrency 1 and takes batches; faust acks a batch's
events only when the loop body returns, so offsets are committed only after a
batch is written and published, and never past an unwritten message (the
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
from sportsfeed_common.topics import (
    GAMES,
    ODDS_RAW,
    ODDS_STORED,
    TopicSpec,
    dead_letter,
)

from .settings import PersistenceSettings
from .storing import (
    DeadLetter,
    GamesStorer,
    Message,
    OddsStorer,
    Record,
    dead_letter_headers,
)
from .writer import Backoff, BatchWriter, ItemsRefused

log = logging.getLogger(__name__)


def create_app(settings: PersistenceSettings) -> faust.App:
    app = faust.App(
        settings.consumer_group,
        broker=[f"kafka://{server.strip()}" for server in settings.kafka_bootstrap_servers.split(",")],
        store="memory://",
        # Topics and partition counts come from `sportsfeed-admin create-topics` only.
        topic_allow_declare=False,
        topic_disable_leader=True,
        consumer_auto_offset_reset="earliest",
        broker_session_timeout=settings.consumer_session_timeout_seconds,
        broker_heartbeat_interval=min(3.0, settings.consumer_session_timeout_seconds / 3),
        producer_acks=-1,
        web_enabled=True,
        web_bind=settings.host,
        web_port=settings.port,
        key_serializer="raw",
        value_serializer="raw",
    )
    raw = app.topic(ODDS_RAW.name, key_type=bytes, value_type=bytes)
    games = app.topic(GAMES.name, key_type=bytes, value_type=bytes)
    stored = app.topic(ODDS_STORED.name, key_type=bytes, value_type=bytes)

    def parker(source: TopicSpec) -> DeadLetter:
        """Parks undecodable messages of ``source`` in its dead-letter topic, original key and bytes."""
        topic = app.topic(dead_letter(source).name, key_type=bytes, value_type=bytes)

        async def park(message: Message, error: str) -> None:
            delivery = await topic.send(
                key=message.key, value=message.value, headers=dead_letter_headers(message, source.name, error)
            )
            await delivery
            log.warning("message parked in the dead-letter topic", extra={
                "topic": source.name, "partition": message.partition, "offset": message.offset, "error": error})

        return park

    async def publish_stored(records: Sequence[Record]) -> None:
        deliveries = [await stored.send(key=key, value=value) for key, value in records]
        await asyncio.gather(*deliveries)

    def dynamodb() -> Any:
        return aioboto3.Session().client("dynamodb", **dynamodb_client_kwargs(settings))

    @app.agent(raw, concurrency=1)
    async def store_odds(stream: faust.StreamT) -> None:
        park = parker(ODDS_RAW)
        async with dynamodb() as client:
            storer = OddsStorer(
                BatchWriter(client, settings.dynamodb_table), publish_stored, park,
                timedelta(days=settings.odds_retention_days),
            )
            async for events in stream.take_events(settings.batch_max_messages, within=settings.batch_window_seconds):
                await _store_until_done(storer, _messages(events), park)

    @app.agent(games, concurrency=1)
    async def store_games(stream: faust.StreamT) -> None:
        park = parker(GAMES)
        async with dynamodb() as client:
            storer = GamesStorer(BatchWriter(client, settings.dynamodb_table), park)
            async for events in stream.take_events(settings.batch_max_messages, within=settings.batch_window_seconds):
                await _store_until_done(storer, _messages(events), park)

    return app


def _messages(events: Sequence[faust.EventT]) -> list[Message]:
    return [
        Message(event.key, event.value, event.message.partition, event.message.offset, event.message.timestamp)
        for event in events
    ]


async def _store_until_done(storer: OddsStorer | GamesStorer, messages: list[Message], park: DeadLetter) -> None:
    backoff = Backoff()
    attempt = 0
    while True:
        try:
            await storer.store(messages)
            return
        except ItemsRefused as refused:
            for message in messages:
                await park(message, str(refused))
            return
        except Exception:
            log.exception("storing a batch failed; retrying it", extra={"attempt": attempt})
            await asyncio.sleep(backoff.delay(attempt))
            attempt += 1
