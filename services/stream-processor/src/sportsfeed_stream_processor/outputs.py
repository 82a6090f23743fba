"""Where the stream processor's results go, and its table writes: Kafka, each send acknowledged."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from dataclasses import dataclass
from typing import Any, Protocol

import faust
from sportsfeed_common.events import Alert, encode
from sportsfeed_common.faust_worker import DeadLetters, send
from sportsfeed_common.times import now_millis
from sportsfeed_common.topics import (
    NOT_LIVE_HEADER,
    ODDS_ALERTS,
    ODDS_LIVE,
    ODDS_RAW,
    PROVIDER_ACTIVITY,
    UNCOUNTED_HEADER,
)

from .activity import ProviderActivity, encode_activity
from .alerts import alert_key
from .metrics import ProcessorMetrics
from .processor import BatchResult


@dataclass(frozen=True)
class ChangelogRecord:
    table: Any  # the faust table whose changelog gets the record
    key: bytes
    value: bytes
    partition: int


class Outputs(Protocol):
    async def publish(self, result: BatchResult) -> Awaitable[None]:
        """Queue a batch's LiveUpdates, alerts and dead letters on the producer, in order, after those
        queued before; await the result for Kafka's acknowledgement of all of them."""

    async def store(self, records: list[ChangelogRecord]) -> None:
        """Write table records to their changelogs; return once Kafka acknowledged all."""

    async def alert(self, alert: Alert) -> None: ...
    async def activity(self, activity: ProviderActivity) -> None: ...


class KafkaOutputs:
    """odds.live (LiveUpdates, and not-new updates marked not live), odds.alerts, odds.raw.dlq,
    provider.activity and the tables' changelogs."""

    def __init__(self, app: faust.App, metrics: ProcessorMetrics) -> None:
        self._app = app
        self._metrics = metrics
        self._dead_letters = DeadLetters(app, ODDS_RAW)

    async def publish(self, result: BatchResult) -> Awaitable[None]:
        app = self._app
        uncounted = result.uncounted
        deliveries = [await send(app, ODDS_LIVE.name, update.game_id.encode(), encode(update),
                                 [UNCOUNTED_HEADER] if uncounted and update.id in uncounted else None)
                      for update in result.live]
        deliveries += [await send(app, ODDS_LIVE.name, key, value, [NOT_LIVE_HEADER])
                       for key, value in result.not_live]
        deliveries += [await self._send_alert(alert) for alert in result.alerts]
        deliveries += [await self._dead_letters.park(parked.key, parked.value, parked.partition, parked.offset,
                                                     parked.error) for parked in result.parked]
        return self._acknowledged(deliveries, result)

    async def _acknowledged(self, deliveries: list[Any], result: BatchResult) -> None:
        await asyncio.gather(*deliveries)
        acknowledged = now_millis()
        for update in result.live:
            if update.trace.ingested_at is not None:
                self._metrics.ingested_to_live_seconds.observe((acknowledged - update.trace.ingested_at) / 1000)

    async def store(self, records: list[ChangelogRecord]) -> None:
        await asyncio.gather(*[await send(self._app, record.table.changelog_topic.get_topic_name(), record.key,
                                          record.value, partition=record.partition) for record in records])

    async def _send_alert(self, alert: Alert) -> Any:
        self._metrics.alerts.labels(alert.kind).inc()
        return await send(self._app, ODDS_ALERTS.name, alert_key(alert), encode(alert))

    async def alert(self, alert: Alert) -> None:
        await self._send_alert(alert)

    async def activity(self, activity: ProviderActivity) -> None:
        await send(self._app, PROVIDER_ACTIVITY.name, activity.provider.encode(), encode_activity(activity))
