"""Rate limits against a real Redis, shared by two rate limiters and by two ingest apps over HTTP."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sportsfeed_common.topics import create_topics
from sportsfeed_devstack.waiting import wait_until_async
from sportsfeed_ingest.auth import config_entry, new_key
from sportsfeed_ingest.ratelimit import RateLimiter

from ..ingest_support import ACME, ACME_KEY, ingest_settings, new_game, odds_item, start_client, valid_batch

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


async def test_two_ingest_processes_sharing_redis_answer_202_to_no_more_than_the_limit_over_http(servers) -> None:
    # Two ingest apps (as two replicas behind one load balancer) share one Redis; a provider
    # alternating between them gets 202 for at most its limit in all, then 429 with Retry-After.
    provider, key = f"r{uuid.uuid4().hex[:8]}", new_key()
    settings = ingest_settings(servers, API_KEYS=f"{config_entry(provider, key)},{config_entry('acme', ACME_KEY)}",
                               RATE_LIMITS=f"*=100000/second,{provider}=100/minute")
    await create_topics(servers.kafka_bootstrap)
    replicas = [await start_client(settings) for _ in range(2)]
    for replica in replicas:  # each producer has delivered once: a 503 below could only be Kafka's
        async def delivers(replica=replica) -> bool:
            return (await replica.post("/v1/odds", json=valid_batch(), headers=ACME)).status == 202

        await wait_until_async(delivers, timeout=60, what="each replica to deliver a batch", interval=0.2)
    headers = {"Content-Type": "application/json", "X-API-Key": key}
    game, now = new_game(), datetime.now(UTC)
    admitted, refusals = 0, []
    try:
        for n in range(30):  # 300 updates, in batches of 10, alternating replicas
            batch = {"updates": [odds_item(game, now - timedelta(milliseconds=10 * n + k)) for k in range(10)]}
            response = await replicas[n % 2].post("/v1/odds", json=batch, headers=headers)
            await response.read()
            if response.status == 202:
                admitted += 10
            else:
                assert response.status == 429, (response.status, await response.text())
                refusals.append(int(response.headers["Retry-After"]))
    finally:
        for replica in replicas:
            await replica.close()
    assert 100 - 2 * 10 <= admitted <= 100  # unused lease tokens only make it stricter
    assert len(refusals) == 30 - admitted // 10 and all(1 <= seconds <= 60 for seconds in refusals)
