"""Against a real Redis: the round trips the gateway and ingest depend on."""

from __future__ import annotations

import asyncio
import uuid

import pytest
import redis.asyncio as redis

pytestmark = pytest.mark.integration


async def test_round_trip_with_expiry(servers) -> None:
    client = redis.Redis.from_url(servers.redis_url)
    try:
        key = f"it:{uuid.uuid4().hex}"
        assert await client.set(key, b"connected", ex=30)
        assert await client.get(key) == b"connected"
        assert 0 < await client.ttl(key) <= 30
        assert await client.delete(key) == 1
        assert await client.get(key) is None
        info = await client.info("server")
        assert int(str(info["redis_version"]).split(".")[0]) >= 6
    finally:
        await client.aclose()


async def test_publish_reaches_a_subscriber(servers) -> None:
    client = redis.Redis.from_url(servers.redis_url)
    channel = f"it:{uuid.uuid4().hex}"
    pubsub = client.pubsub()
    try:
        await pubsub.subscribe(channel)
        assert (await pubsub.get_message(timeout=5))["type"] == "subscribe"
        assert await client.publish(channel, b"hello") == 1
        async with asyncio.timeout(5):
            message = None
            while message is None:
                message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=1)
        assert message["data"] == b"hello"
    finally:
        await pubsub.aclose()
        await client.aclose()
