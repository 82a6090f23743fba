"""The connection registry in Redis, and commands between replicas over Redis pub/sub.

Keys (prefix ``sportsfeed:gateway:``):

- ``connection:<id>``: a hash (connectionId, clientId, pod, connectedAt, lastSeen,
  subscriptions) that expires unless its replica refreshes it, so a crashed
  replica's entries vanish by themselves;
- ``connections``: every connection id, scored by when its entry expires (a set
  member cannot expire by itself; readers skip and prune expired scores);
- ``client:<clientId>``: the same, for one client (the per-client limit).

Each replica rewrites all its entries every third of the TTL. That is also how
the registry catches up after a Redis outage: delivery never waits for Redis,
and the next refresh after Redis returns writes everything again.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import redis.asyncio as redis
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff
from redis.exceptions import RedisError
from sportsfeed_common.logs import ThrottledLog
from sportsfeed_common.times import now_millis

from .hub import Connection, Hub

log = logging.getLogger(__name__)
throttled = ThrottledLog(log, interval_seconds=30)

PREFIX = "sportsfeed:gateway:"
CONNECTIONS = PREFIX + "connections"
REDIS_TIMEOUT_SECONDS = 1.0
RECONNECT_SECONDS = 1.0
REDIS_CONNECTIONS = 32

Command = dict[str, Any]


def connection_key(connection_id: str) -> str:
    return f"{PREFIX}connection:{connection_id}"


def client_key(client_id: str) -> str:
    return f"{PREFIX}client:{client_id}"


def pod_channel(pod: str) -> str:
    return f"{PREFIX}pod:{pod}"


class Registry:
    def __init__(self, url: str, pod: str, ttl_seconds: float, hub: Hub,
                 on_command: Callable[[Command], Awaitable[None]], on_error: Callable[[], None]) -> None:
        # A burst of connections (a reconnect storm) makes hundreds of registry calls at once: they
        # queue for the pool's connections instead of failing with "Too many connections".
        # One retry: after Redis restarts, the first command on each pooled connection finds it
        # closed, and a fresh connection answers at once. More would stall upgrades in an outage.
        pool = redis.BlockingConnectionPool.from_url(
            url, max_connections=REDIS_CONNECTIONS, timeout=REDIS_TIMEOUT_SECONDS,
            socket_timeout=REDIS_TIMEOUT_SECONDS, socket_connect_timeout=REDIS_TIMEOUT_SECONDS,
            retry=Retry(ExponentialBackoff(cap=0.1, base=0.01), retries=1))
        self._redis = redis.Redis(connection_pool=pool)
        self._pod = pod
        self._ttl_ms = int(ttl_seconds * 1000)
        self._hub = hub
        self._on_command = on_command
        self._on_error = on_error
        self._tasks: list[asyncio.Task[None]] = []

    async def start(self) -> None:
        self._tasks = [asyncio.create_task(self._refresh_forever(), name="registry-refresh"),
                       asyncio.create_task(self._listen_forever(), name="registry-commands")]

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self._redis.aclose()

    # --- entries ----------------------------------------------------------------------------

    async def connections_of(self, client_id: str) -> int | None:
        """Live connections of ``client_id`` across replicas; None when Redis does not answer."""
        try:
            return int(await self._redis.zcount(client_key(client_id), now_millis(), "+inf"))
        except RedisError as error:
            self._failed("count", error)
            return None

    async def register(self, connection: Connection) -> None:
        await self._write([connection])

    async def deregister(self, connection: Connection) -> None:
        try:
            async with self._redis.pipeline(transaction=False) as pipe:
                pipe.delete(connection_key(connection.id))
                pipe.zrem(CONNECTIONS, connection.id)
                pipe.zrem(client_key(connection.client_id), connection.id)
                await pipe.execute()
        except RedisError as error:
            self._failed("deregister", error)  # the entry expires by itself

    async def _write(self, connections: list[Connection]) -> None:
        if not connections:
            return
        now = now_millis()
        expires = now + self._ttl_ms
        try:
            async with self._redis.pipeline(transaction=False) as pipe:
                for connection in connections:
                    key = connection_key(connection.id)
                    pipe.hset(key, mapping={
                        "connectionId": connection.id, "clientId": connection.client_id, "pod": self._pod,
                        "connectedAt": connection.connected_at_ms, "lastSeen": now,
                        "subscriptions": json.dumps(connection.subscriptions())})
                    pipe.pexpire(key, self._ttl_ms)
                    pipe.zadd(CONNECTIONS, {connection.id: expires})
                    pipe.zadd(client_key(connection.client_id), {connection.id: expires})
                    pipe.pexpire(client_key(connection.client_id), self._ttl_ms)
                pipe.zremrangebyscore(CONNECTIONS, "-inf", now)
                await pipe.execute()
        except RedisError as error:
            self._failed("refresh", error)

    async def _refresh_forever(self) -> None:
        while True:
            await asyncio.sleep(self._ttl_ms / 3000)  # a period, not a wait for something
            await self._write(list(self._hub))

    async def all_connections(self) -> list[dict[str, Any]]:
        now = now_millis()
        ids = await self._redis.zrangebyscore(CONNECTIONS, now, "+inf")
        async with self._redis.pipeline(transaction=False) as pipe:
            for connection_id in ids:
                pipe.hgetall(connection_key(connection_id.decode()))
            entries = await pipe.execute()
        listed = []
        for entry in entries:
            if entry:  # an id whose hash expired a moment ago is skipped
                fields = {key.decode(): value.decode() for key, value in entry.items()}
                fields["subscriptions"] = json.loads(fields.get("subscriptions", "{}"))
                for name in ("connectedAt", "lastSeen"):
                    fields[name] = int(fields[name])
                listed.append(fields)
        return sorted(listed, key=lambda fields: fields["connectedAt"])

    # --- commands between replicas -----------------------------------------------------------

    async def owner_of(self, connection_id: str) -> str | None:
        pod = await self._redis.hget(connection_key(connection_id), "pod")
        return None if pod is None else pod.decode()

    async def send_command(self, pod: str, command: Command) -> int:
        """Publish to ``pod``'s channel; how many replicas heard it."""
        return int(await self._redis.publish(pod_channel(pod), json.dumps(command)))

    async def _listen_forever(self) -> None:
        while True:
            try:
                async with self._redis.pubsub() as pubsub:
                    await pubsub.subscribe(pod_channel(self._pod))
                    async for message in pubsub.listen():
                        if message["type"] == "message":
                            await self._run_command(message["data"])
            except (RedisError, OSError) as error:
                self._failed("listen", error)
                await asyncio.sleep(RECONNECT_SECONDS)  # Redis is down: try again shortly

    async def _run_command(self, data: bytes) -> None:
        try:
            command = json.loads(data)
            await self._on_command(command)
        except Exception:
            log.exception("a command from another replica failed", extra={"command": data[:200]})

    def _failed(self, operation: str, error: Exception) -> None:
        self._on_error()
        throttled.warning(operation, "the Redis registry is unavailable; delivery goes on",
                          operation=operation, error=str(error))
