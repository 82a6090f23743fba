"""Timing for the provider tools: an absolute send schedule, and sleeps that end on request.

Batches are due at ``start + k * interval`` on one clock, so the time spent
sending does not push every later batch back (sleeping a fixed interval after
each send would). Waits go through an injected ``sleep`` so tests need no
real time.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

Clock = Callable[[], float]
Sleep = Callable[[float], Awaitable[None]]


def utc_now() -> datetime:
    return datetime.now(UTC)


class Stopped(Exception):
    """A wait ended because a stop was requested or the run's deadline came."""


class PacingSchedule:
    """When each send is due.

    Falling behind by up to ``max_lag`` seconds is caught up by sending
    immediately; beyond that (after an outage, say) the schedule starts afresh
    from now rather than bursting every missed send at once.
    """

    def __init__(self, start: float, interval: float, max_lag: float = 1.0) -> None:
        if interval <= 0:
            raise ValueError("interval must be positive")
        self.interval = interval
        self.max_lag = max_lag
        self._anchor = start
        self._index = 0

    @classmethod
    def for_rate(cls, start: float, rate: float, batch_size: int) -> PacingSchedule:
        """Batches of ``batch_size`` updates at ``rate`` updates per second."""
        if rate <= 0:
            raise ValueError("rate must be positive")
        return cls(start, batch_size / rate)

    def next_due(self, now: float) -> float:
        """The moment the next send is due (possibly already past), and advance to the one after."""
        due = self._anchor + self._index * self.interval
        if now - due > self.max_lag:
            self._anchor, self._index, due = now, 0, now
        self._index += 1
        return due


class Timekeeper:
    """A clock and sleeps that raise :class:`Stopped` once the deadline (if any) is reached.

    ``sleep`` itself may also raise :class:`Stopped` (see :func:`stop_aware_sleep`).
    """

    def __init__(self, now: Clock, sleep: Sleep, deadline: float | None = None) -> None:
        self.now = now
        self._sleep = sleep
        self.deadline = deadline

    async def sleep(self, seconds: float) -> None:
        seconds = max(0.0, seconds)
        if self.deadline is not None:
            remaining = self.deadline - self.now()
            if remaining <= 0:
                raise Stopped
            if seconds >= remaining:
                await self._sleep(remaining)
                raise Stopped
        await self._sleep(seconds)

    async def sleep_until(self, moment: float) -> None:
        await self.sleep(moment - self.now())


def stop_aware_sleep(stop: asyncio.Event) -> Sleep:
    """An ``asyncio`` sleep that raises :class:`Stopped` as soon as ``stop`` is set."""

    async def sleep(seconds: float) -> None:
        if stop.is_set():
            raise Stopped
        try:
            await asyncio.wait_for(stop.wait(), timeout=max(0.0, seconds))
        except TimeoutError:
            return
        raise Stopped

    return sleep
