"""The gateway's parts wired together: the book, the sockets, the Kafka reader and the Redis registry."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from aiohttp import web
from sportsfeed_common.kafka_security import KafkaSecurity

from .book import GameBook
from .feed import LiveFeed
from .frames import Subscribe
from .gateway import Gateway
from .hub import CLOSE_BY_OPERATOR, CLOSE_GOING_AWAY, Connection, Hub
from .metrics import GatewayMetrics
from .registry import Command, Registry
from .settings import GatewaySettings

log = logging.getLogger(__name__)

SHUTDOWN_CLOSE_SECONDS = 5.0


class GatewayService:
    def __init__(self, settings: GatewaySettings, metrics: GatewayMetrics | None = None) -> None:
        self.settings = settings
        self.metrics = metrics = metrics or GatewayMetrics()
        self.book = GameBook(settings.replay_window_seconds, settings.replay_max_per_game)
        self.hub = Hub(on_slow_close=lambda connection: self._slow_closed(connection))
        self.gateway = Gateway(self.book, self.hub, metrics)
        self.feed = LiveFeed(settings.kafka_bootstrap_servers, KafkaSecurity.of(settings),
                             settings.replay_window_seconds, self.gateway.handle, self._after_fetch)
        self.registry = Registry(settings.redis_url, settings.pod_name, settings.registry_ttl_seconds, self.hub,
                                 self.run_command, metrics.registry_errors.inc)
        self.allowed_origins = settings.origins()
        self.tokens = settings.token_verifier()  # None while AUTH_ENABLED is false
        self._background: set[asyncio.Task[Any]] = set()
        # Registry writes still in flight, per connection id: a socket's deregistration waits for
        # them, or a write finishing late would bring a closed socket's entry back until its TTL.
        self._registry_writes: dict[str, set[asyncio.Task[Any]]] = {}
        self._last_trim = 0.0

    async def start(self) -> None:
        await self.feed.start()
        await self.registry.start()

    async def stop(self) -> None:
        await self.close_all()
        await self.feed.stop()
        await self.registry.stop()

    async def _after_fetch(self) -> None:
        loop_time = asyncio.get_running_loop().time()
        if loop_time - self._last_trim >= 1.0:
            self._last_trim = loop_time
            self.book.forget_old()

    # --- sockets ----------------------------------------------------------------------------

    async def too_many_connections(self, client_id: str) -> bool:
        across_replicas = await self.registry.connections_of(client_id)
        count = self.hub.count_for(client_id) if across_replicas is None else across_replicas
        return count >= self.settings.max_connections_per_client

    def connected(self, connection: Connection) -> None:
        self.hub.add(connection)
        self.metrics.connects.inc()
        self.metrics.connections.set(len(self.hub))
        self._register(connection)

    def disconnected(self, connection: Connection) -> None:
        self.hub.remove(connection)
        self.metrics.connections.set(len(self.hub))
        self._in_background(self._deregister(connection, self._registry_writes.pop(connection.id, set())))

    async def _deregister(self, connection: Connection, pending_writes: set[asyncio.Task[Any]]) -> None:
        await asyncio.gather(*pending_writes, return_exceptions=True)
        await self.registry.deregister(connection)

    def subscribe(self, connection: Connection, op: Subscribe) -> None:
        """Snapshots (and missed updates) queued and the subscription recorded in one step: no await
        in between, so no live frame can fall between the replay and the live stream.

        A game whose updates already reach the socket through an earlier subscription is not replayed
        (that would repeat what is queued ahead of the snapshot): its snapshot continues at the current seq.
        """
        games = dict.fromkeys([*op.games, *op.since, *self.book.games_of(set(op.sports))])
        for game_id in games:
            since = op.since.get(game_id)
            if self.hub.receives_by_subscription(connection, game_id, self.book.sport(game_id)):
                snapshot, missed = self.book.continuation(game_id, since), []
            else:
                snapshot, missed = self.book.resume(game_id, since)
            self.hub.send_to(connection, snapshot)
            for frame in missed:
                self.hub.send_to(connection, frame)
            self.metrics.frames_queued.labels("snapshot").inc()
            self.metrics.frames_queued.labels("odds").inc(len(missed))
        self.hub.subscribe(connection, games, op.sports)
        self.subscriptions_changed(connection)

    def subscriptions_changed(self, connection: Connection) -> None:
        self._register(connection)

    def _register(self, connection: Connection) -> None:
        task = self._in_background(self.registry.register(connection))
        writes = self._registry_writes.setdefault(connection.id, set())
        writes.add(task)
        task.add_done_callback(writes.discard)

    def _slow_closed(self, connection: Connection) -> None:
        self.metrics.slow_closes.inc()
        log.warning("a slow client was closed", extra={"connection": connection.id, "client": connection.client_id})

    async def close_all(self) -> None:
        """Shutdown: every socket gets GOING_AWAY, so clients reconnect (elsewhere) and resume."""
        closing = [connection.socket.close(code=CLOSE_GOING_AWAY, message=b"server shutting down")
                   for connection in self.hub]
        if closing:
            await asyncio.wait_for(asyncio.gather(*closing, return_exceptions=True), SHUTDOWN_CLOSE_SECONDS)

    # --- operators --------------------------------------------------------------------------

    async def run_command(self, command: Command) -> None:
        """A command for one of this replica's sockets (from the admin API, here or on another replica)."""
        connection = self.hub.get(str(command.get("connectionId")))
        if connection is None:
            return
        if command.get("op") == "send":
            self.hub.send_to(connection, str(command["frame"]).encode())
        elif command.get("op") == "close":
            await connection.socket.close(code=CLOSE_BY_OPERATOR, message=b"closed by an operator")

    async def route_command(self, command: Command) -> bool:
        """Run ``command`` where its socket lives; False if no replica has it."""
        connection_id = str(command["connectionId"])
        if self.hub.get(connection_id) is not None:
            await self.run_command(command)
            return True
        pod = await self.registry.owner_of(connection_id)
        return pod is not None and await self.registry.send_command(pod, command) > 0

    def _in_background(self, coroutine: Any) -> asyncio.Task[Any]:
        task = asyncio.get_running_loop().create_task(coroutine)
        self._background.add(task)
        task.add_done_callback(self._background.discard)
        return task


GATEWAY_SERVICE = web.AppKey("gateway_service", GatewayService)
