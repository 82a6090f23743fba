"""Wait for a condition with a deadline: the only way this project waits for anything."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

T = TypeVar("T")


class WaitTimeout(TimeoutError):
    pass


def wait_until(
    condition: Callable[[], T],
    *,
    timeout: float,
    what: str,
    interval: float = 0.1,
) -> T:
    """Poll ``condition`` until it returns something truthy; return that value.

    Raises :class:`WaitTimeout` naming ``what`` once ``timeout`` seconds pass.
    Exceptions from ``condition`` propagate: a probe that cannot succeed should
    say so at once rather than run out the clock.
    """
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() >= deadline:
            raise WaitTimeout(f"timed out after {timeout:g}s waiting for {what}")
        time.sleep(interval)


async def wait_until_async(
    condition: Callable[[], Awaitable[T]],
    *,
    timeout: float,
    what: str,
    interval: float = 0.05,
) -> T:
    """:func:`wait_until` for conditions that are coroutines (an HTTP probe, a Kafka query)."""
    deadline = time.monotonic() + timeout
    while True:
        result = await condition()
        if result:
            return result
        if time.monotonic() >= deadline:
            raise WaitTimeout(f"timed out after {timeout:g}s waiting for {what}")
        await asyncio.sleep(interval)
