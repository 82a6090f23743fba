"""What persistence does with a batch of messages from ``odds.live``, free of any Kafka client.

decode each message -> park the undecodable ones in the dead-letter topic -> write the LiveUpdates
to DynamoDB with the seq they were pushed with (all of them, or wait until it is possible) -> store
the updates the stream processor passed on as not new (``NOT_LIVE_HEADER``) only where the table
lacks them, counting those, and the sequenced ones it did not count (``UNCOUNTED_HEADER``), in
their provider's and game's minute -> only then may the batch's offsets be committed (the caller's job).

Nothing waits on this: the push went out from the same topic. Writing before committing is what
makes a crash at any point lose nothing: the worst case is a replay, which rewrites the same items
(deterministic keys, the same seq) and finds the not-new ones present.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sportsfeed_common.batch_writer import BatchWriter, Counter, WriteReport
from sportsfeed_common.events import EventT, Game, InvalidEvent, LiveUpdate, OddsUpdate, decode
from sportsfeed_common.items import game_item, late_count_keys, odds_item
from sportsfeed_common.times import epoch_millis, from_epoch_millis
from sportsfeed_common.topics import NOT_LIVE_HEADER, UNCOUNTED_HEADER

log = logging.getLogger(__name__)

DeadLetter = Callable[["Message", str], Awaitable[None]]
Observe = Callable[[float], None]


@dataclass(frozen=True)
class Message:
    """One message as consumed: enough to store it, or to park it with its origin."""

    key: bytes | None
    value: bytes
    partition: int
    offset: int
    timestamp_ms: int = 0  # when it was produced (Kafka's record timestamp)
    headers: tuple[tuple[str, bytes], ...] = ()

    @property
    def live(self) -> bool:
        """False for an update the stream processor passed on unsequenced (not new when it came)."""
        return NOT_LIVE_HEADER not in self.headers

    @property
    def counted(self) -> bool:
        """False for a LiveUpdate the stream processor folded into no series (older than its horizon)."""
        return UNCOUNTED_HEADER not in self.headers


@dataclass
class BatchReport:
    stored: int = 0
    dead_lettered: int = 0
    write: WriteReport = field(default_factory=WriteReport)


class OddsStorer:
    def __init__(self, writer: BatchWriter, dead_letter: DeadLetter, retention: timedelta,
                 clock: Callable[[], datetime] = lambda: datetime.now(UTC),
                 observe_lag: Observe = lambda seconds: None) -> None:
        """``observe_lag`` is told, per stored update, how long after ingest it was in the table."""
        self._writer = writer
        self._dead_letter = dead_letter
        self._retention = retention
        self._clock = clock
        self._observe_lag = observe_lag

    async def store(self, messages: Sequence[Message]) -> BatchReport:
        report = BatchReport()
        live = await decode_or_park([m for m in messages if m.live], LiveUpdate, self._dead_letter, report)
        not_live = await decode_or_park([m for m in messages if not m.live], OddsUpdate, self._dead_letter, report)
        now = self._clock()
        # CREATED (and so EXPIRE) come from the update when ingest stamped it, so a replay rewrites
        # byte-identical items. The sequenced items go first: a not-new update of this very batch
        # (a retry) then finds its original stored and leaves it, seq and all.
        counted = [(message, update) for message, update in live if message.counted]
        uncounted = [(message, update) for message, update in live if not message.counted]
        if counted:
            report.write = await self._writer.write(
                [odds_item(update, update.received_at or now, self._retention, seq=update.seq)
                 for _, update in counted])
        # Updates the stream processor did not count: sequenced ones older than its series horizon, and
        # not-new ones the table lacks (late prices, never sequenced). Storing each counts it in its
        # provider's and its game's minute, in one transaction with a conditional put, so a retry or a
        # replay finds it stored and counts nothing.
        if uncounted:
            report.write.add(await self._writer.put_if_absent(
                [odds_item(update, update.received_at or now, self._retention, seq=update.seq)
                 for _, update in uncounted], counters=_late_counters))
        if not_live:
            report.write.add(await self._writer.put_if_absent(
                [odds_item(update, update.received_at or now, self._retention) for _, update in not_live],
                counters=_late_counters))
        stored_ms = epoch_millis(self._clock())
        for _, update in live:
            if update.trace.ingested_at is not None:
                self._observe_lag(max(0, stored_ms - update.trace.ingested_at) / 1000)
        report.stored = len(live) + len(not_live)
        return report


def _late_counters(item: dict[str, Any]) -> list[Counter]:
    return [Counter(key, attributes) for key, attributes in late_count_keys(item)]


async def decode_or_park(
    messages: Sequence[Message], event_type: type[EventT], dead_letter: DeadLetter, report: BatchReport
) -> list[tuple[Message, EventT]]:
    """Each message decoded, in order; those that do not decode are parked (and counted) instead."""
    decoded: list[tuple[Message, EventT]] = []
    for message in messages:
        try:
            decoded.append((message, decode(message.value, event_type)))
        except InvalidEvent as error:
            await dead_letter(message, f"{error.field or error.path}: {error.reason}")
            report.dead_lettered += 1
    return decoded


class GamesStorer:
    """Game details to table items; ``ISSCHEDULED`` exists only while a game is scheduled.

    A game's item is replaced whole on every change (PutItem), which is what drops
    ``ISSCHEDULED`` from the sparse index once the game goes live. ``CREATED`` is
    the message's own timestamp, so a replay rewrites the same item.
    """

    def __init__(self, writer: BatchWriter, dead_letter: DeadLetter) -> None:
        self._writer = writer
        self._dead_letter = dead_letter

    async def store(self, messages: Sequence[Message]) -> BatchReport:
        report = BatchReport()
        decoded = await decode_or_park(messages, Game, self._dead_letter, report)
        if decoded:
            report.write = await self._writer.write(
                [game_item(game, from_epoch_millis(message.timestamp_ms)) for message, game in decoded]
            )
            report.stored = len(decoded)
        return report

