"""Rate limits against a real Redis, as two ingest replicas would share them."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from sportsfeed_ingest.ratelimit import RateLimiter

pytestmark = pytest.mark.integration


async def test_two_replicas_never_admit_more_than_the_limit_together(servers) -> None:
    provider = f"p-{uuid.uuid4().hex[:8]}"
    replicas = [RateLimiter(servers.redis_url, f"{provider}=300/minute", 1.0) for _ in range(2)]
    try:
        decisions = await asyncio.gather(
            *(replicas[n % 2].check(provider, 1) for n in range(1000))
        )
    finally:
        for replica in replicas:
            await replica.close()
    admitted = sum(decision.allowed for decision in decisions)
    assert all(decision.checked for decision in decisions)
    # Leases may leave a few reserved tokens unused (stricter), never more than the limit.
    assert 300 - 2 * 6 <= admitted <= 300
    refused = [d for d in decisions if not d.allowed]
    assert all(1 <= d.retry_after_seconds <= 60 for d in refused)


async def test_a_provider_under_its_limit_is_never_refused(servers) -> None:
    provider = f"p-{uuid.uuid4().hex[:8]}"
    limiter = RateLimiter(servers.redis_url, f"{provider}=5000/minute", 1.0)
    try:
        # 4,000 updates in batches of 10, some concurrently, some one after another: all within 5,000.
        for _ in range(20):
            decisions = await asyncio.gather(*(limiter.check(provider, 10) for _ in range(20)))
            assert all(decision.allowed for decision in decisions)
    finally:
        await limiter.close()


async def test_each_provider_has_its_own_budget_and_others_share_the_default(servers) -> None:
    tight, other = f"p-{uuid.uuid4().hex[:8]}", f"p-{uuid.uuid4().hex[:8]}"
    limiter = RateLimiter(servers.redis_url, f"*=1000/minute,{tight}=10/minute", 1.0)
    try:
        assert (await limiter.check(tight, 10)).allowed
        assert not (await limiter.check(tight, 1)).allowed
        assert (await limiter.check(other, 500)).allowed
    finally:
        await limiter.close()


async def test_redis_unreachable_lets_requests_through_unchecked() -> None:
    limiter = RateLimiter("redis://127.0.0.1:1/0", "*=10/minute", 0.2)
    try:
        decision = await limiter.check("acme", 5)
    finally:
        await limiter.close()
    assert decision.allowed and not decision.checked
