"""Persistence's agents: one per input topic (odds.live, games), each storing batches in DynamoDB.

An agent consumes with concurrency 1 and takes batches; faust acks a batch's events only when the
loop body returns, so offsets are committed only after a batch is written, and never past an
unwritten message (the commit-past-in-flight problem of faust-streaming issue #606 needs
concurrency above 1). The body never raises: a batch DynamoDB refuses outright is parked in the
dead-letter topic; anything else is retried, so an exception can never ack a batch that was not
stored.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from datetime import timedelta

import aioboto3
import faust
from sportsfeed_common.aws import dynamodb_client_kwargs
from sportsfeed_common.batch_writer import Backoff, BatchWriter, ItemsRefused
from sportsfeed_common.faust_worker import ConsumerLag, DeadLetters, bytes_topic
from sportsfeed_common.topics import GAMES, ODDS_LIVE, TopicSpec

from .metrics import PersistenceMetrics
from .settings import PersistenceSettings
from .storing import DeadLetter, GamesStorer, Message, OddsStorer

log = logging.getLogger(__name__)


def register_agents(app: faust.App, settings: PersistenceSettings, metrics: PersistenceMetrics,
                    lag: ConsumerLag) -> None:
    async def store_batches(stream: faust.StreamT, source: TopicSpec,
                            storer_for: Callable[[BatchWriter, DeadLetter], OddsStorer | GamesStorer]) -> None:
        park = parker(app, source)
        async with aioboto3.Session().client(
                "dynamodb", **dynamodb_client_kwargs(settings, bulk_writer=True)) as client:
            storer = storer_for(BatchWriter(client, settings.dynamodb_table), park)
            async for events in stream.take_events(settings.batch_max_messages, within=settings.batch_window_seconds):
                await _store_until_done(storer, _messages(events), park, source.name, metrics)
                lag.processed(events)

    @app.agent(bytes_topic(app, ODDS_LIVE.name), concurrency=1)
    async def store_odds(stream: faust.StreamT) -> None:
        await store_batches(stream, ODDS_LIVE, lambda writer, park: OddsStorer(
            writer, park, timedelta(days=settings.odds_retention_days),
            observe_lag=metrics.ingested_to_stored_seconds.observe))

    @app.agent(bytes_topic(app, GAMES.name), concurrency=1)
    async def store_games(stream: faust.StreamT) -> None:
        await store_batches(stream, GAMES, GamesStorer)


def parker(app: faust.App, source: TopicSpec) -> DeadLetter:
    """Parks a message of ``source`` in its dead-letter topic, and waits until Kafka has it."""
    dead_letters = DeadLetters(app, source)

    async def park(message: Message, error: str) -> None:
        await (await dead_letters.park(message.key, message.value, message.partition, message.offset, error))

    return park


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
