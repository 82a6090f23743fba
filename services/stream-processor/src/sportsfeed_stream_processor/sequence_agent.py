"""The agent that sequences ``odds.raw``: batches of whatever has arrived, decided in memory, their
outputs published and acknowledged, then the game states stored, and only then the events acked.

After a crash a replayed update finds its game's state (and gets no second seq), or finds the
state from before it (and gets the same seq again, an identical record that consumers drop by
seq). See processor.py and docs/decisions.md.

Two batches overlap: while Kafka acknowledges one batch's outputs and then its states, the next is
taken, decided and its outputs queued behind them. Each batch still goes published -> stored ->
acked, in order, so the guarantee above holds; what the overlap saves is the agent idling through
two round trips to the broker per batch. The next batch reads the game states the previous one
left in memory (the table's data), ahead of their changelog records; should Kafka fail to
acknowledge a batch, the worker restarts from its committed offsets and changelogs (in memory
state would otherwise be ahead of what was published).
"""

from __future__ import annotations

import asyncio
import logging
import os
import sys
from collections.abc import Awaitable
from typing import Any, NoReturn

import faust
from faust.types import TP
from sportsfeed_common.faust_worker import ConsumerLag, ack_events, take_arrived
from sportsfeed_common.topics import ODDS_RAW

from .metrics import ProcessorMetrics
from .outputs import ChangelogRecord, Outputs
from .positions import InputPositions, position_key
from .processor import BatchResult, OddsProcessor
from .sequencing import encode_state
from .series_task import SeriesWriters

log = logging.getLogger(__name__)

Offsets = list[tuple[int, int]]  # (partition, offset) of each event of a batch


class SequenceAgent:
    def __init__(self, app: faust.App, processor: OddsProcessor, outputs: Outputs, game_states: Any,
                 input_positions: Any, series: SeriesWriters, lag: ConsumerLag, metrics: ProcessorMetrics,
                 batch_max_messages: int) -> None:
        self._app = app
        self._processor = processor
        self._outputs = outputs
        self._game_states = game_states
        self._input_positions = input_positions
        self._positions = InputPositions(input_positions)
        self._series = series
        self._lag = lag
        self._metrics = metrics
        self._batch_max_messages = batch_max_messages

    async def run(self, stream: faust.StreamT) -> None:
        metrics = self._metrics
        finishing: asyncio.Task[None] | None = None  # the previous batch, being acknowledged and stored
        try:
            async for events in take_arrived(stream, self._batch_max_messages, acks_deferred=True):
                metrics.batch_messages.observe(len(events))
                offsets = [(e.message.partition, e.message.offset) for e in events]
                await self._restart_if_input_skipped(offsets)
                result = self._processor.process([(e.message.partition, e.message.offset, e.key, e.value)
                                                  for e in events])
                changelog = self._keep_states(result)
                self._positions.processed(offsets)
                # Queued behind the previous batch's outputs: Kafka keeps them in order per partition.
                published = await self._outputs.publish(result)
                if finishing is not None:
                    await finishing
                finishing = asyncio.create_task(self._finish(stream, events, offsets, result, published, changelog))
        finally:
            if finishing is not None:
                await finishing

    def _keep_states(self, result: BatchResult) -> list[ChangelogRecord]:
        """The batch's game states, in the table's memory at once (the next batch sequences on from
        them), and their changelog records, to be written once the batch's outputs are acknowledged.

        The changelog partition is the game's (faust's ``Table.__setitem__`` takes the "current
        event"'s, which in a batch is only the last one's).
        """
        records = []
        for game_key, (partition, state) in result.states.items():
            self._game_states.data[game_key] = value = encode_state(state)
            records.append(ChangelogRecord(self._game_states, game_key, value, partition))
        return records

    async def _finish(self, stream: faust.StreamT, events: list[Any], offsets: Offsets, result: BatchResult,
                      published: Awaitable[None], changelog: list[ChangelogRecord]) -> None:
        """Published first, stored second (see processor.py), then acked."""
        try:
            await published
            await self._store(changelog, offsets)
        except Exception as error:  # noqa: BLE001 (whatever Kafka raised, the memory is ahead of it)
            restart_worker(f"a batch was not acknowledged by Kafka: {error!r}")
        self._series.changed(result)
        metrics = self._metrics
        metrics.processed.labels("live").inc(len(result.live))
        metrics.processed.labels("not_new").inc(len(result.not_live))
        metrics.processed.labels("parked").inc(len(result.parked))
        self._lag.processed(events)
        await ack_events(stream, events)

    async def _store(self, changelog: list[ChangelogRecord], offsets: Offsets) -> None:
        """Store the batch's game states and input positions, and wait until Kafka has them.

        Only then may the events be acked: faust's pre-commit flush gives up on its send buffer
        after 0.1 s, so under load it can commit offsets ahead of the changelog, and a crash then
        loses state that the replay will not rebuild.
        """
        records = list(changelog)
        for partition, offset in self._positions.advanced(offsets).items():
            self._input_positions.data[key := position_key(partition)] = value = str(offset).encode()
            records.append(ChangelogRecord(self._input_positions, key, value, partition))
        await self._outputs.store(records)

    async def _restart_if_input_skipped(self, offsets: Offsets) -> None:
        """Restart the worker if faust skipped input (see positions.py); accept only what retention deleted."""
        skip = self._positions.first_skip(offsets)
        if skip is None:
            return
        tp = TP(ODDS_RAW.name, skip.partition)
        earliest = (await self._app.consumer.earliest_offsets(tp)).get(tp)
        if earliest is not None and earliest >= skip.received:
            self._metrics.expired_unprocessed.inc(skip.received - skip.expected)
            log.error("accepted updates deleted by retention before they were processed",
                      extra={"partition": skip.partition, "from_offset": skip.expected,
                             "to_offset": skip.received - 1})
            return
        restart_worker(skip.describe())


def restart_worker(reason: str) -> NoReturn:
    """Replace this process with a fresh one, which resumes from the committed offsets.

    Nothing of the current batch is acknowledged, and the position table is written only after
    outputs, so the new process reads the skipped messages again. The same pid keeps the launcher's
    and Kubernetes' view of the worker intact.
    """
    log.error("restarting the worker to read skipped input again", extra={"reason": reason})
    logging.shutdown()
    os.execv(sys.executable, sys.orig_argv)
