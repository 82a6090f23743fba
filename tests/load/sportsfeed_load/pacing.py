"""The provider users' shared pace: the configured rate in total, whatever their number."""

from __future__ import annotations

import time
from collections.abc import Callable


class Pacer:
    """Hands out send times ``1 / per_second`` apart to whichever user asks next.

    A slot missed because every user was still waiting for an answer is not made up later
    with a burst: the offered rate then falls, and the summary's rate shows it.
    """

    def __init__(self, per_second: float, clock: Callable[[], float] = time.monotonic) -> None:
        self._interval = 1.0 / per_second
        self._clock = clock
        self._next = clock()

    def delay(self) -> float:
        """Seconds to wait before sending (0 when late); reserves that slot."""
        now = self._clock()
        slot = max(now, self._next)
        self._next = slot + self._interval
        return slot - now
