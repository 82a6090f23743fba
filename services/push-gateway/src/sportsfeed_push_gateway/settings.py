"""The push gateway's settings, read once from the environment."""

from __future__ import annotations

import socket
from typing import Annotated

import msgspec
from sportsfeed_common.jwt_auth import AnalystAuthSettings
from sportsfeed_common.settings import Port, Secret

Count = Annotated[int, msgspec.Meta(ge=1, le=10_000_000)]
Seconds = Annotated[float, msgspec.Meta(gt=0, le=86_400)]


class GatewaySettings(AnalystAuthSettings, kw_only=True):
    host: str = "0.0.0.0"
    port: Port = 8080
    # This replica's name in the registry and on the pub/sub channel (the pod's name in Kubernetes).
    pod_name: Annotated[str, msgspec.Meta(min_length=1, max_length=200)] = socket.gethostname()
    # Origins a browser may connect from, comma-separated; "*" allows any. Clients that send no
    # Origin (wscat, servers) are not browsers and are let through: auth is what guards them.
    allowed_origins: str = "http://127.0.0.1:8080,http://localhost:8080"
    # AUTH_ENABLED, JWT_SECRET, JWT_AUDIENCE (AnalystAuthSettings): analysts' JWTs on /ws (token=<jwt>)
    # and on /api (a bearer, forwarded to the read API). Off locally, on in production.
    # Bearer token of the admin endpoints (always required; they answer 503 while it is unset).
    admin_token: Secret | None = None
    # Where the dashboard's /api/* requests go: the persistence read API.
    read_api_url: str = "http://127.0.0.1:8082"
    # Updates kept per game for resume, and for how long; a gateway warms this window from Kafka on start.
    replay_window_seconds: Seconds = 300.0
    replay_max_per_game: Count = 5_000
    # Per socket: plain FIFO up to the soft limit, prices conflated beyond it, closed past the hard limit.
    queue_soft_limit: Count = 256
    queue_hard_limit: Count = 4_096
    # The kernel's send buffer per socket. Linux grows it up to 4 MiB by default, which would hide a
    # stalled client for thousands of frames before the queue above ever sees it.
    socket_send_buffer_bytes: Annotated[int, msgspec.Meta(ge=4096, le=16_777_216)] = 262_144
    max_connections_per_client: Count = 20
    # Pending connections the kernel queues for accept. A restart's reconnect storm arrives at once;
    # at aiohttp's default of 128 most of it is dropped and retried by TCP a second later. The
    # kernel caps it at net.core.somaxconn.
    listen_backlog: Annotated[int, msgspec.Meta(ge=1, le=65_535)] = 4_096
    # Client frames larger than this are refused with an error frame.
    max_client_frame_bytes: Annotated[int, msgspec.Meta(ge=256, le=1_048_576)] = 16_384
    # Client frames per second a socket may send before getting rate_limited errors.
    client_frames_per_second: Count = 50
    # Registry entries live this long unless this replica refreshes them (every third of it).
    registry_ttl_seconds: Annotated[float, msgspec.Meta(ge=3, le=3600)] = 30.0
    # Names the seq space in hello frames: change it when odds.live is recreated (seqs restart).
    stream_epoch: Annotated[str, msgspec.Meta(min_length=1, max_length=64)] = "1"
    # Folder of the dashboard's static files; unset: the one next to the package in the source tree.
    dashboard_dir: str | None = None

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.queue_hard_limit <= self.queue_soft_limit:
            raise ValueError("QUEUE_HARD_LIMIT: must be above QUEUE_SOFT_LIMIT")
        if not self.read_api_url.startswith(("http://", "https://")):
            raise ValueError("READ_API_URL: must be an http:// or https:// URL")

    def origins(self) -> frozenset[str]:
        return frozenset(origin.strip().rstrip("/") for origin in self.allowed_origins.split(",") if origin.strip())
