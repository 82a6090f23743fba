"""The WebSocket servers the gateway benchmark delivers through, each fed from Kafka:

- the push gateway of the private stack;
- the fan-out baseline (``fanout_baseline``): a bare aiohttp broadcaster, the least a
  Kafka-to-WebSocket server in aiohttp does;
- Centrifugo v6, the server users would pick instead, as shipped (it writes up to 16 queued
  messages per WebSocket frame), built pinned into the cache by ``tools/bench/install-centrifugo``.

Each is told what to read and how its clients speak: the gateway and the baseline read ``odds.live``
and send one ``odds`` frame per update; Centrifugo reads a topic of its own through its Kafka
consumer in publication data mode (the record's value is published as is, to the channels named by
a header), and its analysts speak its JSON protocol. The record's value is the very ``odds`` frame
the gateway would send, so every server delivers the same bytes of JSON to the same analysts.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path

import msgspec
import psutil
from sportsfeed_common.topics import ODDS_LIVE, TopicSpec, create_topics
from sportsfeed_devstack.applications import http_ok
from sportsfeed_devstack.config import StackConfig, free_port
from sportsfeed_devstack.processes import STOP_TIMEOUT_SECONDS
from sportsfeed_devstack.stack import Stack
from sportsfeed_devstack.waiting import wait_until
from sportsfeed_push_gateway.settings import GatewaySettings

from .analysts import PROTOCOL_CENTRIFUGO, PROTOCOL_SPORTSFEED
from .fanout_baseline import ODDS_PREFIX
from .persistence import BenchFailure

LISTEN_BACKLOG = next(field.default for field in msgspec.structs.fields(GatewaySettings)
                      if field.name == "listen_backlog")  # the baseline listens like the gateway
READY_SECONDS = 120.0
GATEWAY = "push-gateway"
CENTRIFUGO_INSTALL = "tools/bench/install-centrifugo"
CENTRIFUGO_CHANNELS_HEADER = "centrifugo-channels"  # Centrifugo's default for publication data mode
# As the gateway's live feed polls Kafka (feed.FETCH_TIMEOUT_MS), so neither spins more than the other.
CENTRIFUGO_FETCH_MAX_WAIT = "100ms"

Headers = list[tuple[str, bytes]]


class Target:
    """A server the analysts connect to."""

    name: str
    url: str
    replays: bool  # whether it resumes a reconnecting client with the updates it missed
    protocol = PROTOCOL_SPORTSFEED  # how its analysts speak to it
    topic = ODDS_LIVE.name  # where the benchmark publishes what it delivers
    headers: Headers = []  # on each published record

    def record_value(self, live_update: bytes) -> bytes:
        """What to publish for an encoded LiveUpdate: the update itself, as the stream processor does."""
        return live_update

    async def prepare(self) -> None:
        """What must exist before the first :meth:`start` (nothing, unless said otherwise)."""

    def pid(self) -> int:
        raise NotImplementedError

    def stop(self) -> None:
        """Shut down gracefully: GOING_AWAY to every socket, then exit."""
        raise NotImplementedError

    def start(self) -> None:
        raise NotImplementedError

    def rss_bytes(self) -> int:
        return psutil.Process(self.pid()).memory_info().rss

    def cpu_seconds(self) -> float:
        times = psutil.Process(self.pid()).cpu_times()
        return times.user + times.system


class StackGateway(Target):
    name = "gateway"
    replays = True

    def __init__(self, stack: Stack) -> None:
        self.stack = stack
        self.server = next(server for server in stack.servers if server.name == GATEWAY)
        self.url = stack.config.gateway_url

    def pid(self) -> int:
        process = self.server.process.running()
        if process is None:
            raise BenchFailure("the gateway is not running")
        return process.pid

    def stop(self) -> None:
        self.server.process.stop()

    def start(self) -> None:
        self.stack.start()  # only what is not running: the gateway, which warms its window from Kafka


class Subprocess(Target):
    """A server the benchmark runs itself, on a free port, until :meth:`stop`."""

    def __init__(self) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen[bytes] | None = None

    def command(self) -> list[str]:
        raise NotImplementedError

    def ready_url(self) -> str:
        raise NotImplementedError

    def start(self) -> None:
        self.process = self.spawn()

        def ready() -> bool:
            if self.process is not None and self.process.poll() is not None:
                raise BenchFailure(f"{self.name} exited with {self.process.returncode}{self.exit_detail()}")
            return http_ok(self.ready_url())

        wait_until(ready, timeout=READY_SECONDS, interval=0.05, what=f"{self.name} to be ready")

    def spawn(self) -> subprocess.Popen[bytes]:
        return subprocess.Popen(self.command())

    def exit_detail(self) -> str:
        return ""

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(STOP_TIMEOUT_SECONDS)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def pid(self) -> int:
        if self.process is None:
            raise BenchFailure(f"{self.name} is not running")
        return self.process.pid


class FanoutBaseline(Subprocess):
    name = "baseline"
    replays = False

    def __init__(self, bootstrap: str) -> None:
        super().__init__()
        self.bootstrap = bootstrap

    def command(self) -> list[str]:
        return [sys.executable, "-m", "sportsfeed_bench.fanout_baseline", "--port", str(self.port),
                "--bootstrap", self.bootstrap, "--backlog", str(LISTEN_BACKLOG)]

    def ready_url(self) -> str:
        return f"{self.url}/readyz"


def centrifugo_binary() -> Path:
    """Where ``tools/bench/install-centrifugo`` builds it (``./sportsfeed bench`` runs that first)."""
    built = StackConfig.from_env().cache_dir / "bin" / "centrifugo"  # the cache the stack's downloads use
    if built.is_file() and os.access(built, os.X_OK):
        return built
    on_path = shutil.which("centrifugo")
    if on_path:
        return Path(on_path)
    raise BenchFailure(f"Centrifugo is not installed: run {CENTRIFUGO_INSTALL} (./sportsfeed bench does)")


class Centrifugo(Subprocess):
    """Centrifugo with its Kafka consumer on a topic of its own, clients connecting without a token
    (as the gateway's analysts do) and subscribing to one channel that gets every update."""

    name = "centrifugo"
    replays = False  # no history configured: a reconnecting client is not replayed what it missed
    protocol = PROTOCOL_CENTRIFUGO
    channel = "odds"

    def __init__(self, bootstrap: str) -> None:
        super().__init__()
        self.bootstrap = bootstrap
        run = uuid.uuid4().hex[:8]
        self.topic_spec = TopicSpec(f"bench.centrifugo.{run}", ODDS_LIVE.partitions)
        self.topic = self.topic_spec.name
        self.group = f"bench-centrifugo-{run}"
        self.headers = [(CENTRIFUGO_CHANNELS_HEADER, self.channel.encode())]
        self.folder = Path(tempfile.mkdtemp(prefix="sportsfeed-bench-centrifugo-"))

    def record_value(self, live_update: bytes) -> bytes:
        return ODDS_PREFIX + live_update[1:]  # the gateway's odds frame, built as the baseline does

    def config(self) -> dict:
        return {
            "http_server": {"address": "127.0.0.1", "port": self.port},
            "log": {"level": "warn"},
            "health": {"enabled": True},
            "client": {"insecure": True},  # anonymous connections, no token: the analysts carry none
            "channel": {"without_namespace": {"allow_subscribe_for_client": True,
                                              "allow_subscribe_for_anonymous": True}},
            "consumers": [{
                "name": "odds", "enabled": True, "type": "kafka",
                "kafka": {"brokers": [self.bootstrap], "topics": [self.topic], "consumer_group": self.group,
                          "fetch_max_wait": CENTRIFUGO_FETCH_MAX_WAIT,
                          "publication_data_mode": {"enabled": True,
                                                    "channels_header": CENTRIFUGO_CHANNELS_HEADER}},
            }],
        }

    async def prepare(self) -> None:
        # Kafka topics are never auto-created here; a fresh one per run, so its group starts at its beginning.
        await create_topics(self.bootstrap, (self.topic_spec,))
        (self.folder / "config.json").write_text(json.dumps(self.config(), indent=2))

    def command(self) -> list[str]:
        return [str(centrifugo_binary()), "--config", str(self.folder / "config.json")]

    def spawn(self) -> subprocess.Popen[bytes]:
        log = (self.folder / "centrifugo.log").open("ab")
        return subprocess.Popen(self.command(), stdout=log, stderr=subprocess.STDOUT)

    def ready_url(self) -> str:
        return f"{self.url}/health"

    def exit_detail(self) -> str:
        lines = (self.folder / "centrifugo.log").read_text(errors="replace").splitlines()
        return ": " + " | ".join(lines[-5:]) if lines else ""

    def stop(self) -> None:
        super().stop()
        shutil.rmtree(self.folder, ignore_errors=True)
