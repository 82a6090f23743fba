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


class _Slot:
    __slots__ = ("frame", "key", "updates")

    def __init__(self, frame: bytes, key: ConflationKey | None) -> None:
        self.frame = frame
        self.key = key
        self.updates = 1


class Outbox:
    def __init__(self, soft_limit: int, hard_limit: int, on_conflated: Callable[[], None] = lambda: None) -> None:
        self._soft_limit = soft_limit
        self._hard_limit = hard_limit
        self._slots: deque[_Slot] = deque()
        self._waiting_prices: dict[ConflationKey, _Slot] = {}  # the newest queued slot of each key
        self._ready = asyncio.Event()
        self.conflated = 0  # updates merged into a waiting frame, over the socket's life
        self._on_conflated = on_conflated

    def __len__(self) -> int:
        return len(self._slots)

    def put_price(self, frame: bytes, key: ConflationKey) -> bool:
        """Queue an ``odds`` frame; False when the queue is past its hard limit."""
        if len(self._slots) >= self._soft_limit:
            waiting = self._waiting_prices.get(key)
            if waiting is not None:
                waiting.frame = frame
                waiting.updates += 1
                self.conflated += 1
                self._on_conflated()
                return True
        slot = _Slot(frame, key)
        self._waiting_prices[key] = slot
        return self._append(slot)

    def put(self, frame: bytes) -> bool:
        """Queue a frame that is never conflated; False when the queue is past its hard limit."""
        return self._append(_Slot(frame, None))

    def _append(self, slot: _Slot) -> bool:
        self._slots.append(slot)
        self._ready.set()
        return len(self._slots) <= self._hard_limit

    async def next_frame(self) -> bytes:
        await self._wait_for_frames()
        return self._pop()

    async def next_frames(self, most: int) -> list[bytes]:
        """Every frame waiting, in order, at most ``most``; waits for the first."""
        await self._wait_for_frames()
        return [self._pop() for _ in range(min(most, len(self._slots)))]

    async def _wait_for_frames(self) -> None:
        while not self._slots:
            self._ready.clear()
            await self._ready.wait()

    def _pop(self) -> bytes:
        slot = self._slots.popleft()
        if slot.key is not None and self._waiting_prices.get(slot.key) is slot:
            del self._waiting_prices[slot.key]
        return slot.frame if slot.updates == 1 else conflated_frame(slot.frame, slot.updates)
