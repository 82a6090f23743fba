"""Per-provider rate limits, counted in updates and shared by every replica through Redis.

The counting is the ``limits`` library's sliding-window counter in Redis (two
counters per provider, INCRBY by the batch size), so every replica draws from
one budget.

To keep Redis off the per-request path, a replica reserves quota in small
leases (1/50 of the limit, for at most 1/50 of its window) and spends them
locally. A lease is counted in Redis when taken, so replicas together never
admit more than the limit plus one lease across a window edge; tokens a lease
leaves unused only make the limit stricter. Small limits get no lease larger
than the request itself, so they stay exact.

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
from limits.aio.strategies import SlidingWindowCounterRateLimiter
from limits.errors import StorageError
from redis.asyncio import BlockingConnectionPool

log = logging.getLogger(__name__)

DEFAULT_PROVIDER = "*"
POOL_CONNECTIONS = 32


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


@dataclass
class _Lease:
    granted: int
    remaining: int
    granted_at: float  # time.monotonic()
    expires_at: float

    def rate(self, now: float) -> float:
        """Updates per second this replica spent from the lease: how big the next one should be."""
        elapsed = now - self.granted_at
        return (self.granted - self.remaining) / elapsed if elapsed > 0 else 0.0


LEASE_FRACTION = 50  # a lease holds at most 1/50 of a limit, for at most 1/50 of its window
MAX_LEASE = 1000


class RateLimiter:
    def __init__(self, redis_url: str, config: str, timeout_seconds: float) -> None:
        self._limits = parse_rate_limits(config)
        self._timeout = timeout_seconds
        self._leases: dict[str, _Lease] = {}
        self._reserving: dict[str, asyncio.Future[None]] = {}
        scheme_url = redis_url.replace("redis://", "async+redis://", 1).replace("rediss://", "async+rediss://", 1)
        # A bounded pool that makes a request wait for a free connection: an unbounded one opens
        # a connection per concurrent request, and redis-py's default pool refuses outright when
        # full, which would let requests through unchecked exactly when load is highest.
        self._pool = pool = BlockingConnectionPool.from_url(
            redis_url,
            max_connections=POOL_CONNECTIONS,
            timeout=timeout_seconds,
            socket_connect_timeout=timeout_seconds,
            socket_timeout=timeout_seconds,
        )
        self._storage = RedisStorage(
            scheme_url,
            implementation="redispy",
            key_prefix="sportsfeed:ratelimit",
            wrap_exceptions=True,  # every Redis failure surfaces as limits' StorageError
            connection_pool=pool,
        )
        self._limiter = SlidingWindowCounterRateLimiter(self._storage)

    def limits_for(self, provider: str) -> list[RateLimitItem]:
        return self._limits.get(provider) or self._limits.get(DEFAULT_PROVIDER, [])

    def _spend_lease(self, provider: str, updates: int, now: float) -> bool:
        lease = self._leases.get(provider)
        if lease is not None and lease.expires_at > now and lease.remaining >= updates:
            lease.remaining -= updates
            return True
        return False

    async def check(self, provider: str, updates: int) -> Decision:
        """Count ``updates`` against every limit of ``provider``; refuse if any is exceeded."""
        items = self.limits_for(provider)
        if not items:
            return Decision(True)
        while True:
            if self._spend_lease(provider, updates, time.monotonic()):
                return Decision(True)
            in_flight = self._reserving.get(provider)
            if in_flight is None:
                break
            # Another request is already asking Redis: wait for its lease rather than pile on.
            await asyncio.shield(in_flight)
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._reserving[provider] = done
        try:
            return await self._renew_lease(provider, items, updates)
        except (TimeoutError, StorageError) as error:
            log.warning("rate limiter unavailable, request passed unchecked", extra={"error": repr(error)})
            return Decision(True, checked=False)
        finally:
            if self._reserving.get(provider) is done:
                del self._reserving[provider]
            done.set_result(None)

    async def _renew_lease(self, provider: str, items: list[RateLimitItem], updates: int) -> Decision:
        now = time.monotonic()
        lifetime = min(item.get_expiry() for item in items) / LEASE_FRACTION
        ceiling = min(MAX_LEASE, min(item.amount for item in items) // LEASE_FRACTION)
        previous = self._leases.get(provider)
        expected = previous.rate(now) * lifetime if previous is not None else 0.0
        size = max(updates, min(ceiling, int(expected)))
        decision = await self._reserve(provider, items, size)
        if not decision.allowed and size > updates:
            # Not enough left for a whole lease: take exactly what this request needs.
            size = updates
            decision = await self._reserve(provider, items, size)
        if decision.allowed:
            self._leases[provider] = _Lease(size, size - updates, now, now + lifetime)
        return decision

    async def _reserve(self, provider: str, items: list[RateLimitItem], amount: int) -> Decision:
        async with asyncio.timeout(self._timeout):
            for item in items:
                if not await self._limiter.hit(item, provider, cost=amount):
                    return Decision(False, await self._retry_after(item, provider, amount))
        return Decision(True)

    async def _retry_after(self, item: RateLimitItem, provider: str, updates: int) -> int:
        stats = await self._limiter.get_window_stats(item, provider)
        # A batch larger than the whole limit never fits; say when the window is empty again.
        wait = stats.reset_time - time.time()
        if updates > item.amount:
            wait = max(wait, item.get_expiry())
        return max(1, math.ceil(wait))

    async def close(self) -> None:
        # A redis-py client never closes a pool it was handed, so the pool is closed here too.
        await self._storage.bridge.storage.aclose()
        await self._pool.disconnect()
