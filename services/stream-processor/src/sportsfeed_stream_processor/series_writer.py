"""Writes the candles and counts that changed to DynamoDB, as whole items, every check interval.

Items are built from the stored game states at write time, so several
changes to one candle cost one write, and writing an item again (after a
failed write, or after a restart, when everything in the state is written
once more) stores the same value: nothing is ever incremented in DynamoDB.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable, Mapping
from datetime import timedelta
from typing import Any

from sportsfeed_common.batch_writer import BatchWriter, ItemsRefused, WriteReport
from sportsfeed_common.items import candle_item, count_item
from sportsfeed_common.series import FeedCount
from sportsfeed_common.topics import ODDS_RAW

from .placement import partition_of
from .processor import BatchResult
from .sequencing import GameState, decode_state
from .series import key_minute, minute_datetime, oldest_open_minute

log = logging.getLogger(__name__)


class SeriesWriter:
    def __init__(self, writer: BatchWriter, game_states: Mapping[bytes, bytes], retention: timedelta,
                 horizon_minutes: int, clock: Callable[[], int]) -> None:
        self._writer = writer
        self._game_states = game_states
        self._retention = retention
        self._horizon_minutes = horizon_minutes
        self._clock = clock
        self._dirty_candles: set[tuple[bytes, str]] = set()  # (game key, "market|minute")
        self._dirty_counts: set[tuple[int, str]] = set()  # (partition, "provider|minute")
        self._games_by_partition: defaultdict[int, set[bytes]] = defaultdict(set)

    def changed(self, result: BatchResult) -> None:
        """A batch's states were stored: its series items are now out of date."""
        self._dirty_candles |= result.candles
        self._dirty_counts |= result.counts
        for game_key, (partition, _) in result.states.items():
            self._games_by_partition[partition].add(game_key)

    def mark_all_dirty(self) -> None:
        """After partitions were (re)assigned: the restored states may be newer than the items."""
        self._games_by_partition.clear()
        for game_key in list(self._game_states.keys()):
            partition = partition_of(game_key.decode(), ODDS_RAW.partitions)
            self._games_by_partition[partition].add(game_key)
            state = decode_state(self._game_states[game_key])
            self._dirty_candles |= {(game_key, key) for key in state.candles}
            self._dirty_counts |= {(partition, key) for key in state.counts}

    async def flush(self) -> WriteReport | None:
        candles, self._dirty_candles = self._dirty_candles, set()
        counts, self._dirty_counts = self._dirty_counts, set()
        oldest = oldest_open_minute(self._clock(), self._horizon_minutes)
        states: dict[bytes, GameState] = {}
        items = [item for game_key, key in candles if key_minute(key) >= oldest
                 for item in self._candle(self._state(game_key, states), key)]
        items += [self._count(partition, key, states) for partition, key in counts if key_minute(key) >= oldest]
        if not items:
            return None
        try:
            return await self._writer.write(items)
        except ItemsRefused:
            log.exception("DynamoDB refused series items; they are dropped", extra={"items": len(items)})
        except Exception:
            # Not written: written at the next flush instead, from the state as it will be then.
            self._dirty_candles |= candles
            self._dirty_counts |= counts
            raise
        return None

    def _state(self, game_key: bytes, cache: dict[bytes, GameState]) -> GameState:
        if game_key not in cache:
            cache[game_key] = decode_state(self._game_states.get(game_key))
        return cache[game_key]

    def _candle(self, state: GameState, key: str) -> list[dict[str, Any]]:
        candle = state.candles.get(key)
        return [candle_item(candle, candle.minute + self._retention)] if candle is not None else []

    def _count(self, partition: int, key: str, cache: dict[bytes, GameState]) -> dict[str, Any]:
        """The partition's share: the provider's count for the minute summed over the partition's games."""
        total = sum(self._state(game_key, cache).counts.get(key, 0) for game_key in self._games_by_partition[partition])
        provider = key.rsplit("|", 1)[0]
        minute = minute_datetime(key_minute(key))
        return count_item(FeedCount(provider=provider, minute=minute, count=total), partition, minute + self._retention)
