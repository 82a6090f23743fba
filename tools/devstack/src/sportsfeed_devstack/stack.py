"""Start, stop and inspect the local stack as a whole."""

from __future__ import annotations

import errno
import signal
import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from sportsfeed_common.admin import run_create_table, run_create_topics
from sportsfeed_common.settings import CommonSettings, load_settings

from .applications import applications
from .config import HOST, StackConfig, StackError
from .servers import Server, infrastructure
from .waiting import WaitTimeout, wait_until

READY_TIMEOUT_SECONDS = 120.0
ENV_FILE = "stack.env"


@dataclass(frozen=True)
class ServerStatus:
    name: str
    address: str
    pid: int | None

    @property
    def running(self) -> bool:
        return self.pid is not None


class Stack:
    def __init__(self, config: StackConfig, only: frozenset[str] | None = None) -> None:
        """``only`` limits the stack to some processes by name (``kafka``, ``ingest``, ``provider``...)."""
        self.config = config
        self.servers: list[Server] = [
            server
            for server in infrastructure(config) + applications(config)
            if only is None or server.name in only
        ]

    def install(self) -> None:
        """Download (or find in the cache) everything the servers need."""
        self.config.cache_dir.mkdir(parents=True, exist_ok=True)
        for server in self.servers:
            server.install()

    def start(self) -> None:
        """Start every process not already running; each must answer a real request before the next step.

        Infrastructure first; then, if any application is part of this stack,
        topics and table are created and the applications started. Anything
        this call started is stopped again if start-up fails or is interrupted
        (Ctrl-C), so a failed start leaves no process behind.
        """
        self.install()
        self.config.state_dir.mkdir(parents=True, exist_ok=True)
        to_start = [server for server in self.servers if server.process.running() is None]
        _check_ports_free(to_start)
        started: list[Server] = []
        try:
            infra = [server for server in self.servers if not server.is_application]
            apps = [server for server in self.servers if server.is_application]
            self._start_group(infra, to_start, started)
            if apps:
                provision(self.config)
                self._start_group(apps, to_start, started)
        except BaseException:
            with shutdown_signals_ignored():
                for server in reversed(started):
                    server.process.stop()
            raise
        (self.config.state_dir / ENV_FILE).write_text(
            "".join(f"{key}={value}\n" for key, value in self.config.service_environment().items())
        )

    def _start_group(self, group: list[Server], to_start: list[Server], started: list[Server]) -> None:
        for server in group:
            if server in to_start:
                server.configure()
                server.process.start(server.argv(), server.environment())
                started.append(server)
        for server in group:
            self._wait_ready(server)

    def _wait_ready(self, server: Server) -> None:
        began = time.monotonic()

        def ready() -> bool:
            if server.process.running() is None:
                raise StackError(
                    f"{server.name} exited during start-up; last lines of {server.process.log_file}:\n"
                    f"{server.process.log_tail()}"
                )
            return server.probe()

        try:
            wait_until(ready, timeout=READY_TIMEOUT_SECONDS, interval=0.25, what=f"{server.name} to answer")
        except WaitTimeout as error:
            raise StackError(f"{error}; see {server.process.log_file}") from None
        print(f"  {server.name}: ready at {server.address()} ({time.monotonic() - began:.1f}s)", flush=True)

    def stop(self) -> list[str]:
        """Stop every server of this stack (clients first, brokers last). Returns the names stopped.

        A second Ctrl-C while stopping would leave servers behind, so it is ignored until done.
        """
        with shutdown_signals_ignored():
            stopped = [server.name for server in reversed(self.servers) if server.process.stop()]
        (self.config.state_dir / ENV_FILE).unlink(missing_ok=True)
        return stopped

    def status(self) -> list[ServerStatus]:
        statuses = []
        for server in self.servers:
            process = server.process.running()
            statuses.append(ServerStatus(server.name, server.address(), process.pid if process else None))
        return statuses


def provision(config: StackConfig) -> None:
    """Create topics and the table (both idempotent), as the Kubernetes init Job does."""
    settings = load_settings(CommonSettings, config.service_environment())
    if run_create_topics(settings) != 0 or run_create_table(settings) != 0:
        raise StackError("provisioning topics or table failed (see above)")


@contextmanager
def shutdown_signals_ignored() -> Iterator[None]:
    """Ignore SIGINT and SIGTERM for the duration (a terminal's Ctrl-C often arrives twice:
    once to the process group and once forwarded by a wrapper such as ``uv run``)."""
    try:
        previous = {signum: signal.signal(signum, signal.SIG_IGN) for signum in (signal.SIGINT, signal.SIGTERM)}
    except ValueError:  # not the main thread: signals cannot reach this code anyway
        yield
        return
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def _check_ports_free(servers: list[Server]) -> None:
    taken = []
    for server in servers:
        for purpose, port in server.ports().items():
            if not _port_free(port):
                taken.append(f"{purpose} port {port}")
    if taken:
        raise StackError(
            f"already in use on {HOST}: {', '.join(taken)}. Stop whatever listens there, or choose "
            "other ports with SPORTSFEED_KAFKA_PORT, SPORTSFEED_KAFKA_CONTROLLER_PORT, "
            "SPORTSFEED_DYNAMODB_PORT, SPORTSFEED_REDIS_PORT, SPORTSFEED_INGEST_PORT, SPORTSFEED_PERSISTENCE_PORT, "
            "SPORTSFEED_PROCESSOR_PORT"
        )


def _port_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((HOST, port))
        except OSError as error:
            if error.errno == errno.EADDRINUSE:
                return False
            raise
    return True
