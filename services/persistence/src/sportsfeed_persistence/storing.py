"""What persistence does with a batch of messages from ``odds.raw``, free of any Kafka client.

decode each message -> park the undecodable ones in the dead-letter topic -> write the rest to
DynamoDB (all of them, or wait until it is possible) -> publish each to ``odds.stored`` with
``trace.storedAt`` -> only then may the batch's offsets be committed (the caller's job).

Writing before publishing, and publishing before committing, is what makes a crash at any point
lose nothing: the worst case is a replay, which rewrites the same items (deterministic keys) and
republishes the same update ids, which consumers ignore.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sportsfeed_common.batch_writer import BatchWriter, WriteReport
from sportsfeed_common.events import (
    EventT,
    Game,
    InvalidEvent,
    OddsUpdate,
    decode,
    encode,
    epoch_millis,
)
from sportsfeed_common.table import game_item, odds_item

log = logging.getLogger(__name__)

Record = tuple[bytes | None, bytes]  # (key, value) as they came from or go to Kafka
Publish = Callable[[Sequence[Record]], Awaitable[None]]
DeadLetter = Callable[["Message", str], Awaitable[None]]


@dataclass(frozen=True)
class Message:
    """One message as consumed: enough to store it, or to park it with its origin."""

    key: bytes | None
    value: bytes
    partition: int
    offset: int
    timestamp_ms: int = 0  # when it was produced (Kafka's record timestamp)


@dataclass
class BatchReport:
    stored: int = 0
    dead_lettered: int = 0
    write: WriteReport = field(default_factory=WriteReport)


class OddsStorer:
    def __init__(self, writer: BatchWriter, publish_stored: Publish, dead_letter: DeadLetter,
                 retention: timedelta, clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self._writer = writer
        self._publish_stored = publish_stored
        self._dead_letter = dead_letter
        self._retention = retention
        self._clock = clock

    async def store(self, messages: Sequence[Message]) -> BatchReport:
        report = BatchReport()
        decoded = await decode_or_park(messages, OddsUpdate, self._dead_letter, report)
        updates = [update for _, update in decoded]
        if not updates:
            return report
        now = self._clock()
        # CREATED (and so EXPIRE) come from the message when ingest stamped it, so a replay
        # rewrites byte-identical items.
        report.write = await self._writer.write(
            [odds_item(update, update.received_at or now, self._retention) for update in updates]
        )
        stored_at = epoch_millis(self._clock())  # when the write was acknowledged: the update is durable
        for update in updates:
            update.trace.stored_at = stored_at
        await self._publish_stored([(update.game_id.encode(), encode(update)) for update in updates])
        report.stored = len(updates)
        return report


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
                [game_item(game, datetime.fromtimestamp(message.timestamp_ms / 1000, UTC)) for message, game in decoded]
            )
            report.stored = len(decoded)
        return report


def dead_letter_headers(message: Message, source_topic: str, error: str) -> list[tuple[str, bytes]]:
    """Where the message came from and why it was parked, for the operator who reads the DLQ."""
    return [
        ("error", error.encode()[:1000]),
        ("source-topic", source_topic.encode()),
        ("source-partition", str(message.partition).encode()),
        ("source-offset", str(message.offset).encode()),
        ("parked-at", datetime.now(UTC).isoformat().encode()),
    ]
