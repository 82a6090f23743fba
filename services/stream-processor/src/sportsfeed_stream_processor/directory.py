"""Every game's sport and status, read from the compacted ``games`` topic by every worker.

The games topic is not partitioned like ``odds.raw`` (3 partitions, not
12), so no worker's share of it matches the games it sequences; each worker
therefore reads all of it, from the beginning, with a plain consumer outside
any group. It is small: one compacted record per game.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from aiokafka import AIOKafkaConsumer, TopicPartition
from sportsfeed_common.events import Game, InvalidEvent, decode
from sportsfeed_common.topics import GAMES

log = logging.getLogger(__name__)

StatusListener = Callable[[Game], None]


class GameDirectory:
    def __init__(self, bootstrap_servers: str, on_change: StatusListener, **client_kwargs: object) -> None:
        self._bootstrap = bootstrap_servers
        self._on_change = on_change
        self._client_kwargs = client_kwargs
        self._games: dict[str, Game] = {}
        self.caught_up = asyncio.Event()  # the topic's end at start-up has been read

    def sport(self, game_id: str) -> str | None:
        game = self._games.get(game_id)
        return game.sport if game else None

    def game(self, game_id: str) -> Game | None:
        return self._games.get(game_id)

    async def run(self) -> None:
        """Follow the topic until cancelled; reconnects by itself (aiokafka retries)."""
        consumer = AIOKafkaConsumer(bootstrap_servers=self._bootstrap, enable_auto_commit=False,
                                    group_id=None, **self._client_kwargs)
        await consumer.start()
        try:
            partitions = [TopicPartition(GAMES.name, p) for p in range(GAMES.partitions)]
            consumer.assign(partitions)
            await consumer.seek_to_beginning(*partitions)
            ends = await consumer.end_offsets(partitions)
            while True:
                batches = await consumer.getmany(timeout_ms=500)
                for records in batches.values():
                    for record in records:
                        self._apply(record.value)
                if not self.caught_up.is_set() and all(
                    await asyncio.gather(*(self._reached(consumer, tp, end) for tp, end in ends.items()))
                ):
                    self.caught_up.set()
                    log.info("games directory caught up", extra={"games": len(self._games)})
        finally:
            await consumer.stop()

    @staticmethod
    async def _reached(consumer: AIOKafkaConsumer, tp: TopicPartition, end: int) -> bool:
        return await consumer.position(tp) >= end

    def _apply(self, value: bytes | None) -> None:
        if value is None:
            return
        try:
            game = decode(value, Game)
        except InvalidEvent:
            return  # persistence parks invalid games in games.dlq; here they are just not known
        self._games[game.game_id] = game
        self._on_change(game)
