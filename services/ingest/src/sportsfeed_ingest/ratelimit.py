"""Per-provider rate limits, counted in updates and shared by every replica through Redis.

Uses the ``limits`` library's sliding-window counter: two counters per
provider in Redis (INCRBY by the batch size), so the cost does not grow with
the limit, and bursts at window edges are smoothed.

If Redis is down or slow the request goes through unchecked: refusing prices
because the limiter is unavailable would cost the bookmaker more than a
provider briefly exceeding its quota. Each such pass is counted in metrics.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from dataclasses import dataclass

from limits import RateLimitItem, parse_many
from limits.aio.storage import RedisStorage
from limits.errors import StorageError
from limits.aio.strategies import SlidingWindowCounterRateLimiter

log = logging.getLogger(__name__)

DEFAULT_PROVIDER = "*"


def parse_rate_limits(config: str) -> dict[str, list[RateLimitItem]]:
    """``provider=limits,...`` (``*`` for everyone else) into parsed ``limits`` items."""
    parsed: dict[str, list[RateLimitItem]] = {}
    for entry in (part.strip() for part in config.split(",") if part.strip()):
        provider, separator, spec = entry.partition("=")
        if not separator or not provider.strip():
            raise ValueError(f"RATE_LIMITS: {entry!r} is not provider=<limit>, e.g. acme=5000/second")
        try:
            parsed[provider.strip()] = parse_many(spec)
        except ValueError as error:
            raise ValueError(f"RATE_LIMITS: {entry!r}: {error}") from None
    return parsed


@dataclass(frozen=True)
class Decision:
    allowed: bool
    retry_after_seconds: int = 0
    checked: bool = True  # False when the limiter could not be asked


class RateLimiter:
    def __init__(self, redis_url: str, config: str, timeout_seconds: float) -> None:
        self._limits = parse_rate_limits(config)
        self._timeout = timeout_seconds
        scheme_url = redis_url.replace("redis://", "async+redis://", 1).replace("rediss://", "async+rediss://", 1)
        self._storage = RedisStorage(
            scheme_url,
            implementation="redispy",
            key_prefix="sportsfeed:ratelimit",
            wrap_exceptions=True,  # every Redis failure surfaces as limits' StorageError
            socket_connect_timeout=timeout_seconds,
            socket_timeout=timeout_seconds,
        )
        self._limiter = SlidingWindowCounterRateLimiter(self._storage)

    def limits_for(self, provider: str) -> list[RateLimitItem]:
        return self._limits.get(provider) or self._limits.get(DEFAULT_PROVIDER, [])

    async def check(self, provider: str, updates: int) -> Decision:
        """Count ``updates`` against every limit of ``provider``; refuse if any is exceeded."""
        try:
            async with asyncio.timeout(self._timeout):
                for item in self.limits_for(provider):
                    if not await self._limiter.hit(item, provider, cost=updates):
                        return Decision(False, await self._retry_after(item, provider, updates))
        except (TimeoutError, StorageError) as error:
            log.warning("rate limiter unavailable, request passed unchecked", extra={"error": repr(error)})
            return Decision(True, checked=False)
        return Decision(True)

    async def _retry_after(self, item: RateLimitItem, provider: str, updates: int) -> int:
        stats = await self._limiter.get_window_stats(item, provider)
        # A batch larger than the whole limit never fits; say when the window is empty again.
        wait = stats.reset_time - time.time()
        if updates > item.amount:
            wait = max(wait, item.get_expiry())
        return max(1, math.ceil(wait))

    async def close(self) -> None:
        # The storage's bridge owns a redis-py client and its pool; release them on shutdown.
        await self._storage.bridge.storage.aclose()
