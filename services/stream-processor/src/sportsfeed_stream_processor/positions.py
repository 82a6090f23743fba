"""Where processing of each ``odds.raw`` partition stands, to catch input that faust skipped.

faust-streaming 0.15.3 can lose messages around a rebalance: records fetched
while table recovery completes are dropped from its buffers, and when a record
fetched before its seek back to the committed offsets arrives afterwards, faust
takes the difference for a gap in the log (as in a compacted topic) and later
commits past it. The updates in between are then never sequenced.

``odds.raw`` is neither compacted nor written in transactions, so its
offsets have no gaps. The processor therefore records, per partition, the
offset after the last event it processed, in a changelog-backed table written
together with the game states (so the record survives a crash and moves with
the partition to another worker). An event beyond that offset means input was
skipped, and the worker restarts itself before processing or acknowledging
anything more: it resumes from its committed offsets, which are never past the
skipped messages, and reads them again.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from sportsfeed_common.topics import ODDS_RAW


@dataclass(frozen=True)
class Skip:
    partition: int
    expected: int  # the offset after the last event processed
    received: int  # the event that came instead

    def describe(self) -> str:
        return (f"{ODDS_RAW.name} partition {self.partition}: offsets {self.expected}..{self.received - 1} "
                "were skipped by the consumer")


def position_key(partition: int) -> bytes:
    # Named by topic: positions kept while the processor read another topic (before it read
    # odds.raw, it read the stored updates persistence republished) are other offsets.
    return f"{ODDS_RAW.name}:{partition}".encode()


class InputPositions:
    """Per partition, the offset after the last processed event, kept in a table (bytes to bytes).

    A batch is processed before the one ahead of it is stored (sequence_agent.py), so the table can
    trail what this worker processed: the skip check also looks at what was processed here."""

    def __init__(self, table: Mapping[bytes, bytes]) -> None:
        self._table = table
        self._processed: dict[int, int] = {}  # per partition, the offset after the last event processed here

    def next_offset(self, partition: int) -> int | None:
        """The stored position: where processing resumes after a restart."""
        value = self._table.get(position_key(partition))
        return None if value is None else int(value)

    def processed(self, events: Iterable[tuple[int, int]]) -> None:
        """Note a batch as processed (not yet stored)."""
        for partition, offset in events:
            self._processed[partition] = max(self._processed.get(partition, 0), offset + 1)

    def _expected(self, partition: int) -> int | None:
        stored, processed = self.next_offset(partition), self._processed.get(partition)
        if stored is None or processed is None:
            return processed if stored is None else stored
        return max(stored, processed)  # another worker may have stored more while the partition was not ours

    def first_skip(self, events: Iterable[tuple[int, int]]) -> Skip | None:
        """The first (partition, offset) that lies beyond its partition's position, if any.

        Offsets below the position are replays (the committed offsets lag the table) and are fine:
        the sequencer knows their updates already.
        """
        expected: dict[int, int | None] = {}
        for partition, offset in events:
            if partition not in expected:
                expected[partition] = self._expected(partition)
            position = expected[partition]
            if position is not None and offset > position:
                return Skip(partition, position, offset)
            expected[partition] = offset + 1 if position is None else max(position, offset + 1)
        return None

    def advanced(self, events: Iterable[tuple[int, int]]) -> dict[int, int]:
        """The new position of every partition the events moved forward."""
        after_last: dict[int, int] = {}
        for partition, offset in events:
            after_last[partition] = max(after_last.get(partition, 0), offset + 1)
        moved = {}
        for partition, position in after_last.items():  # one table read per partition, not per event
            current = self.next_offset(partition)
            if current is None or position > current:
                moved[partition] = position
        return moved
