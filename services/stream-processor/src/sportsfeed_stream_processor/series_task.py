"""The task that writes the candles and counts that changed to DynamoDB, every series write interval."""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta
from typing import Any

import aioboto3
import faust
from sportsfeed_common.aws import dynamodb_client_kwargs
from sportsfeed_common.batch_writer import BatchWriter

from .metrics import ProcessorMetrics
from .processor import BatchResult
from .series_writer import SeriesWriter
from .settings import ProcessorSettings

log = logging.getLogger(__name__)


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


async def write_series(app: faust.App, settings: ProcessorSettings, series: SeriesWriters, game_states: Any,
                       metrics: ProcessorMetrics, clock: Any) -> None:
    """Every series write interval, write the candles and counts that changed (runs until the worker stops)."""
    assignment = Assignment()
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
