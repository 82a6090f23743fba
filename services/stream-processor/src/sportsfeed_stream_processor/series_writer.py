"""Writes the candles and counts that changed to DynamoDB, as whole items, every few seconds.

Items are built from the processor's state at write time, so several changes
to one candle cost one write, and writing an item again (after a retry, or
after a restart, when every key in the state is written once more) stores the
same value: nothing is ever incremented in DynamoDB.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import msgspec
from sportsfeed_common.batch_writer import BatchWriter, ItemsRefused, WriteReport
from sportsfeed_common.series import Candle, FeedCount
from sportsfeed_common.table import candle_item, count_item

from .processor import OddsProcessor
from .series import key_minute, key_partition

log = logging.getLogger(__name__)

_candle_decoder = msgspec.json.Decoder(Candle)


class SeriesWriter:
    def __init__(self, writer: BatchWriter, candles: Mapping[bytes, bytes], counts: Mapping[bytes, bytes],
                 retention: timedelta) -> None:
        self._writer = writer
        self._candles = candles
        self._counts = counts
        self._retention = retention

    def mark_all_dirty(self, processor: OddsProcessor) -> None:
        """After partitions are (re)assigned, the restored state may be newer than the items."""
        processor.dirty_candles.update(self._candles.keys())
        processor.dirty_counts.update(self._counts.keys())

    async def flush(self, processor: OddsProcessor) -> WriteReport | None:
        candle_keys, processor.dirty_candles = processor.dirty_candles, set()
        count_keys, processor.dirty_counts = processor.dirty_counts, set()
        items = [self._candle(key) for key in candle_keys if key in self._candles]
        items += [self._count(key) for key in count_keys if key in self._counts]
        if not items:
            return None
        try:
            return await self._writer.write(items)
        except ItemsRefused:
            log.exception("DynamoDB refused series items; they are dropped", extra={"items": len(items)})
        except Exception:
            # Not written: written again at the next flush, from the state as it will be then.
            processor.dirty_candles.update(candle_keys)
            processor.dirty_counts.update(count_keys)
            raise
        return None

    def _candle(self, key: bytes) -> dict[str, Any]:
        candle = _candle_decoder.decode(self._candles[key])
        return candle_item(candle, candle.minute + self._retention)

    def _count(self, key: bytes) -> dict[str, Any]:
        text = key.decode()
        partition, provider = key_partition(text), text.split("|")[1]
        minute = datetime.fromtimestamp(key_minute(text), UTC)
        count = FeedCount(provider=provider, minute=minute, count=int(self._counts[key]))
        return count_item(count, partition, minute + self._retention)
