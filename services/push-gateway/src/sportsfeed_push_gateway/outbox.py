"""One socket's frames waiting to be written: FIFO, then conflated, then closed.

Up to the soft limit every frame queues. Beyond it, a price update whose game,
provider and market already has a frame waiting replaces it: the waiting frame
is taken out, and the new one goes to the back of the queue saying how many
updates it stands for (``conflated``). So a slow client gets the latest price
without the queue growing, and no frame ever overtakes an older frame of its
game: a game's seqs arrive in increasing order.

Taking a frame out leaves a hole in its game's seqs until the frame that
absorbed it is sent. The next frame of the game after the hole says so
(``skipped``: how many of the game's updates before it went into a later
frame), so that a client that checks seqs for gaps does not take conflation for
loss. Snapshots, alerts and status changes (``put``, or a price whose market
status changed) are never merged away. Past the hard limit the socket is beyond
saving and the caller closes it.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable

from .frames import conflated_frame

ConflationKey = tuple[str, str, str]  # game, provider, market


class _Slot:
    """A price frame that a later price of its key may still replace, and how many updates it stands for."""

    __slots__ = ("frame", "updates")

    def __init__(self, frame: bytes, updates: int) -> None:
        self.frame = frame
        self.updates = updates


class Outbox:
    """Frames (bytes, or a :class:`_Slot` where one may still be merged) and their keys in two parallel
    queues. Below the soft limit a frame queues as it is and allocates nothing: this runs once per socket
    per update, the gateway's hottest line. Slots exist only from the soft limit on, for slow sockets."""

    def __init__(self, soft_limit: int, hard_limit: int, on_conflated: Callable[[], None] = lambda: None) -> None:
        self._soft_limit = soft_limit
        self._hard_limit = hard_limit
        self._items: deque[bytes | _Slot] = deque()
        self._keys: deque[ConflationKey | None] = deque()  # each item's key; None: never merged (not a price)
        self._newest: dict[ConflationKey, _Slot] = {}  # each key's newest waiting frame, once one may merge
        self._skipped: dict[int, int] = {}  # by id() of a waiting item: updates of its game merged past it
        self._ready = asyncio.Event()
        self.conflated = 0  # updates merged into a later frame, over the socket's life
        self._on_conflated = on_conflated

    def __len__(self) -> int:
        return len(self._items)

    def put_price(self, frame: bytes, key: ConflationKey, mergeable: bool = True) -> bool:
        """Queue an ``odds`` frame; False when the queue is past its hard limit. ``mergeable`` False (its
        market's status changed): it is never merged away, and no later price merges past it."""
        newest = self._newest
        if not mergeable:
            newest.pop(key, None)
            return self._append(frame, key)
        if not newest and len(self._items) < self._soft_limit:
            return self._append(frame, key)
        waiting = newest.get(key)
        updates = 1
        if waiting is not None and len(self._items) >= self._soft_limit:
            updates += waiting.updates
            self._take_out(waiting, key)
            self.conflated += 1
            self._on_conflated()
        slot = newest[key] = _Slot(frame, updates)
        return self._append(slot, key)

    def put(self, frame: bytes) -> bool:
        """Queue a frame that is never conflated; False when the queue is past its hard limit."""
        return self._append(frame, None)

    def _take_out(self, slot: _Slot, key: ConflationKey) -> None:
        """Remove ``slot`` (merged into a new frame at the back): the next frame of its game after it
        is told of the hole, with whatever the slot had been told itself."""
        index = self._items.index(slot)  # identity: a slot equals only itself
        del self._items[index]
        del self._keys[index]
        skipped = slot.updates + self._skipped.pop(id(slot), 0)
        game = key[0]
        for position in range(index, len(self._keys)):
            later = self._keys[position]
            if later is not None and later[0] == game:
                item = self._items[position]
                self._skipped[id(item)] = self._skipped.get(id(item), 0) + skipped
                return
        # No frame of the game waits after it: the new frame, about to be queued, counts them itself.

    def _append(self, item: bytes | _Slot, key: ConflationKey | None) -> bool:
        self._items.append(item)
        self._keys.append(key)
        if len(self._items) == 1:  # the event is set whenever frames wait: only an empty queue clears it
            self._ready.set()
        return len(self._items) <= self._hard_limit

    async def next_frame(self) -> bytes:
        await self._wait_for_frames()
        return self._pop()

    async def next_frames(self, most: int) -> list[bytes]:
        """Every frame waiting, in order, at most ``most``; waits for the first."""
        await self._wait_for_frames()
        return [self._pop() for _ in range(min(most, len(self._items)))]

    async def _wait_for_frames(self) -> None:
        while not self._items:
            self._ready.clear()
            await self._ready.wait()

    def _pop(self) -> bytes:
        item = self._items.popleft()
        key = self._keys.popleft()
        skipped = self._skipped.pop(id(item), 0) if self._skipped else 0
        if type(item) is bytes:
            return item if not skipped else conflated_frame(item, 1, skipped)
        assert key is not None
        if self._newest.get(key) is item:
            del self._newest[key]
        if item.updates == 1 and not skipped:
            return item.frame
        return conflated_frame(item.frame, item.updates, skipped)
