"""One socket's frames waiting to be written: FIFO, then conflated, then closed.

Up to the soft limit every frame queues. Beyond it, a price update whose game,
provider and market already has a frame waiting takes that frame's place (and
position), so a slow client gets the latest price without the queue growing;
the frame then says how many updates it stands for. Snapshots, alerts and
status changes are never merged away. Past the hard limit the socket is
beyond saving and the caller closes it.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable

from .frames import conflated_frame

ConflationKey = tuple[str, str, str]  # game, provider, market


class Outbox:
    """Frames and their conflation keys in two parallel queues, so that queueing a frame allocates
    nothing: it runs once per socket per update, the gateway's hottest line. Which frame of a key is
    the newest waiting is only tracked from the moment the queue reaches the soft limit (below it
    nothing merges) until it next empties."""

    def __init__(self, soft_limit: int, hard_limit: int, on_conflated: Callable[[], None] = lambda: None) -> None:
        self._soft_limit = soft_limit
        self._hard_limit = hard_limit
        self._frames: deque[bytes] = deque()
        self._keys: deque[ConflationKey | None] = deque()  # each waiting frame's key; None: never merged
        self._taken = 0  # frames taken out over the socket's life: a frame's index is its position minus this
        # Each key's newest waiting frame, by position; None while the queue has stayed under the soft limit.
        self._newest: dict[ConflationKey, int] | None = None
        self._updates: dict[int, int] = {}  # by position, how many updates a merged frame stands for
        self._ready = asyncio.Event()
        self.conflated = 0  # updates merged into a waiting frame, over the socket's life
        self._on_conflated = on_conflated

    def __len__(self) -> int:
        return len(self._frames)

    def put_price(self, frame: bytes, key: ConflationKey) -> bool:
        """Queue an ``odds`` frame; False when the queue is past its hard limit."""
        newest = self._newest
        if newest is None:
            if len(self._frames) < self._soft_limit:
                return self._append(frame, key)
            newest = self._newest = self._index_keys()
        position = self._taken + len(self._frames)
        if len(self._frames) >= self._soft_limit:
            waiting = newest.get(key, -1)
            if waiting >= self._taken:  # still queued: the new price takes its place
                self._frames[waiting - self._taken] = frame
                self._updates[waiting] = self._updates.get(waiting, 1) + 1
                self.conflated += 1
                self._on_conflated()
                return True
        newest[key] = position
        return self._append(frame, key)

    def put(self, frame: bytes) -> bool:
        """Queue a frame that is never conflated; False when the queue is past its hard limit."""
        return self._append(frame, None)

    def _index_keys(self) -> dict[ConflationKey, int]:
        """Each key's newest waiting frame (a later one overwrites an earlier), by position."""
        return {key: self._taken + index for index, key in enumerate(self._keys) if key is not None}

    def _append(self, frame: bytes, key: ConflationKey | None) -> bool:
        self._frames.append(frame)
        self._keys.append(key)
        if len(self._frames) == 1:  # the event is set whenever frames wait: only an empty queue clears it
            self._ready.set()
        return len(self._frames) <= self._hard_limit

    async def next_frame(self) -> bytes:
        await self._wait_for_frames()
        return self._pop()

    async def next_frames(self, most: int) -> list[bytes]:
        """Every frame waiting, in order, at most ``most``; waits for the first."""
        await self._wait_for_frames()
        return [self._pop() for _ in range(min(most, len(self._frames)))]

    async def _wait_for_frames(self) -> None:
        while not self._frames:
            self._ready.clear()
            await self._ready.wait()

    def _pop(self) -> bytes:
        frame = self._frames.popleft()
        self._keys.popleft()
        position = self._taken
        self._taken += 1
        if not self._frames:
            self._newest = None  # nothing waits to merge into: tracking starts again at the soft limit
        updates = self._updates.pop(position, 1) if self._updates else 1
        return frame if updates == 1 else conflated_frame(frame, updates)
