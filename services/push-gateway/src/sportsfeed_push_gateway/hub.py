"""The sockets of this replica, what each wants, and the fan-out of frames to them.

Fan-out only appends to each socket's :class:`Outbox` (never awaits), and every
socket has its own writer task, so a slow client delays nobody. Because a
subscription is answered (snapshot, replay) and registered in one step with no
await in between, no live frame can slip between the replay and the live
stream: resume has no gap and no duplicate.
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from aiohttp import WSMsgType, web

from .outbox import ConflationKey, Outbox

log = logging.getLogger(__name__)

CLOSE_GOING_AWAY = 1001
CLOSE_TOO_SLOW = 4008
CLOSE_TOO_MANY_CONNECTIONS = 4009
CLOSE_BY_OPERATOR = 4010
# frames=batch: a message carries at most this many frames, so one message stays a few tens of KiB.
MAX_FRAMES_PER_MESSAGE = 64


@dataclass(eq=False)
class Connection:
    id: str
    client_id: str
    socket: web.WebSocketResponse
    outbox: Outbox
    connected_at_ms: int
    # Until the first subscribe, every update, as the reference did; False for ``mode=subscribed``.
    everything: bool = True
    batched: bool = False  # frames=batch: what waits in the outbox goes as one message, frames split by "\n"
    games: set[str] = field(default_factory=set)
    sports: set[str] = field(default_factory=set)
    frames_sent: int = 0
    closing: bool = False

    def subscriptions(self) -> dict[str, list[str] | bool]:
        return {"everything": self.everything, "games": sorted(self.games), "sports": sorted(self.sports)}


class Hub:
    def __init__(self, on_slow_close: Callable[[Connection], None] = lambda _: None) -> None:
        self._connections: dict[str, Connection] = {}
        self._everything: set[Connection] = set()
        self._by_game: defaultdict[str, set[Connection]] = defaultdict(set)
        self._by_sport: defaultdict[str, set[Connection]] = defaultdict(set)
        self._on_slow_close = on_slow_close

    def __len__(self) -> int:
        return len(self._connections)

    def __iter__(self):  # type: ignore[no-untyped-def]
        return iter(list(self._connections.values()))

    def get(self, connection_id: str) -> Connection | None:
        return self._connections.get(connection_id)

    def count_for(self, client_id: str) -> int:
        return sum(1 for connection in self._connections.values() if connection.client_id == client_id)

    # --- membership -------------------------------------------------------------------------

    def add(self, connection: Connection) -> None:
        self._connections[connection.id] = connection
        if connection.everything:
            self._everything.add(connection)

    def remove(self, connection: Connection) -> None:
        self._connections.pop(connection.id, None)
        self._everything.discard(connection)
        for game in connection.games:
            self._discard(self._by_game, game, connection)
        for sport in connection.sports:
            self._discard(self._by_sport, sport, connection)

    @staticmethod
    def receives_by_subscription(connection: Connection, game_id: str, sport: str | None) -> bool:
        """Whether ``game_id``'s updates already reach ``connection`` through one of its subscriptions."""
        return game_id in connection.games or (sport is not None and sport in connection.sports)

    def subscribe(self, connection: Connection, games: Iterable[str], sports: Iterable[str]) -> None:
        if connection.everything:
            connection.everything = False
            self._everything.discard(connection)
        for game in games:
            connection.games.add(game)
            self._by_game[game].add(connection)
        for sport in sports:
            connection.sports.add(sport)
            self._by_sport[sport].add(connection)

    def unsubscribe(self, connection: Connection, games: Iterable[str], sports: Iterable[str]) -> None:
        if connection.everything:
            # "Everything" becomes "nothing but what is named later": an unsubscribe never widens.
            connection.everything = False
            self._everything.discard(connection)
        for game in games:
            connection.games.discard(game)
            self._discard(self._by_game, game, connection)
        for sport in sports:
            connection.sports.discard(sport)
            self._discard(self._by_sport, sport, connection)

    @staticmethod
    def _discard(index: defaultdict[str, set[Connection]], name: str, connection: Connection) -> None:
        members = index.get(name)
        if members is not None:
            members.discard(connection)
            if not members:
                del index[name]

    # --- fan-out ----------------------------------------------------------------------------

    def audience(self, game_id: str | None, sport: str | None) -> set[Connection]:
        """Who gets a frame about ``game_id`` (None: a provider's frame, for everyone)."""
        if game_id is None:
            return set(self._connections.values())
        audience = set(self._everything)
        audience.update(self._by_game.get(game_id, ()))
        if sport is not None:
            audience.update(self._by_sport.get(sport, ()))
        return audience

    def send_price(self, game_id: str, sport: str | None, frame: bytes, key: ConflationKey,
                   mergeable: bool = True) -> int:
        audience = self.audience(game_id, sport)
        for connection in audience:
            if not connection.outbox.put_price(frame, key, mergeable):
                self._too_slow(connection)
        return len(audience)

    def send(self, game_id: str | None, sport: str | None, frame: bytes) -> int:
        audience = self.audience(game_id, sport)
        for connection in audience:
            self.send_to(connection, frame)
        return len(audience)

    def send_to(self, connection: Connection, frame: bytes) -> None:
        if not connection.outbox.put(frame):
            self._too_slow(connection)

    def _too_slow(self, connection: Connection) -> None:
        if connection.closing:
            return
        connection.closing = True
        self.remove(connection)
        self._on_slow_close(connection)
        asyncio.get_running_loop().create_task(
            connection.socket.close(code=CLOSE_TOO_SLOW, message=b"too slow: the queue passed its hard limit"))


async def write_frames(connection: Connection) -> None:
    """The socket's writer, as fast as the client reads: one frame per message, or with ``frames=batch``
    everything waiting (at most :data:`MAX_FRAMES_PER_MESSAGE`) as one message, frames split by newlines."""
    socket = connection.socket
    outbox = connection.outbox
    while not socket.closed:
        if connection.batched:
            frames = await outbox.next_frames(MAX_FRAMES_PER_MESSAGE)
            await socket.send_frame(b"\n".join(frames), WSMsgType.TEXT)
            connection.frames_sent += len(frames)
        else:
            await socket.send_frame(await outbox.next_frame(), WSMsgType.TEXT)
            connection.frames_sent += 1
