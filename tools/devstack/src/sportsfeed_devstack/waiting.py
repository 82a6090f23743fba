"""Wait for a condition with a deadline: the only way this project waits for anything."""

from __future__ import annotations

import time
from collections.abc import Callable
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
