"""Where the local stack keeps its downloads and state, and which ports it listens on."""

from __future__ import annotations

import os
import socket
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

KAFKA_VERSION = "3.9.2"
# 3.1.0 rather than the newest 3.x: later releases depend on AWS SDK artifacts
# (cognitoidentity 2.48.x) that are not all published to Maven Central.
DYNAMODB_LOCAL_VERSION = "3.1.0"

HOST = "127.0.0.1"


class StackError(RuntimeError):
    """The stack cannot start or stop; the message says what to do about it."""


@dataclass(frozen=True)
class StackConfig:
    state_dir: Path
    cache_dir: Path
    kafka_port: int = 9092
    kafka_controller_port: int = 9093
    # A second Kafka listener, SASL_PLAINTEXT with SCRAM-SHA-512, for tests of Kafka authentication
    # (users are created through the admin API); None: no such listener (the local stack has none).
    kafka_sasl_port: int | None = None
    dynamodb_port: int = 8000
    redis_port: int = 6379
    ingest_port: int = 8081
    persistence_port: int = 8082
    processor_port: int = 8083
    gateway_port: int = 8080
    # Per-provider limits of the local ingest (see ingest's RATE_LIMITS); benchmarks raise them.
    ingest_rate_limits: str = "*=5000/second"
    ingest_workers: int = 1
    simulator_rate: int = 20  # updates per second from the simulated provider
    simulator_games: int = 12
    # DynamoDB Local keeps its tables in memory (lost when it stops) instead of on disk. About three
    # times faster at writing here; for benchmarks, whose data is thrown away anyway.
    dynamodb_in_memory: bool = False

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> StackConfig:
        """Read ``SPORTSFEED_*`` overrides; defaults are the ports of DESIGN.md."""
        env = os.environ if environ is None else environ
        home = Path(env.get("HOME", "~")).expanduser()
        cache = env.get("SPORTSFEED_CACHE_DIR") or str(home / ".cache" / "sportsfeed")
        state = env.get("SPORTSFEED_STATE_DIR") or str(home / ".local" / "state" / "sportsfeed")
        ports = {
            field: _port(env, f"SPORTSFEED_{field.upper()}", default)
            for field, default in (
                ("kafka_port", 9092),
                ("kafka_controller_port", 9093),
                ("dynamodb_port", 8000),
                ("redis_port", 6379),
                ("ingest_port", 8081),
                ("persistence_port", 8082),
                ("processor_port", 8083),
                ("gateway_port", 8080),
            )
        }
        simulator = {
            "simulator_rate": _positive(env, "SPORTSFEED_SIMULATOR_RATE", 20),
            "simulator_games": _positive(env, "SPORTSFEED_SIMULATOR_GAMES", 12),
            "ingest_workers": _positive(env, "SPORTSFEED_INGEST_WORKERS", 1),
        }
        return cls(
            state_dir=Path(state),
            cache_dir=Path(cache),
            ingest_rate_limits=env.get("SPORTSFEED_INGEST_RATE_LIMITS") or cls.ingest_rate_limits,
            **ports,
            **simulator,
        )

    @property
    def kafka_bootstrap(self) -> str:
        return f"{HOST}:{self.kafka_port}"

    @property
    def dynamodb_endpoint(self) -> str:
        return f"http://{HOST}:{self.dynamodb_port}"

    @property
    def ingest_url(self) -> str:
        return f"http://{HOST}:{self.ingest_port}"

    @property
    def persistence_url(self) -> str:
        return f"http://{HOST}:{self.persistence_port}"

    @property
    def processor_url(self) -> str:
        return f"http://{HOST}:{self.processor_port}"

    @property
    def gateway_url(self) -> str:
        return f"http://{HOST}:{self.gateway_port}"

    @property
    def redis_url(self) -> str:
        return f"redis://{HOST}:{self.redis_port}/0"

    def service_environment(self) -> dict[str, str]:
        """The shared settings every service and test reads to find these servers."""
        return {
            "KAFKA_BOOTSTRAP_SERVERS": self.kafka_bootstrap,
            "DYNAMODB_ENDPOINT": self.dynamodb_endpoint,
            "REDIS_URL": self.redis_url,
        }


def _port(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name)
    if not raw:
        return default
    if not raw.isdigit() or not 1 <= int(raw) <= 65535:
        raise StackError(f"{name}: {raw!r} is not a port number (1-65535)")
    return int(raw)


def _positive(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name)
    if not raw:
        return default
    if not raw.isdigit() or int(raw) < 1:
        raise StackError(f"{name}: {raw!r} is not a positive whole number")
    return int(raw)


def free_port() -> int:
    """A port nothing listens on right now (for private stacks: tests, benchmarks)."""
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return probe.getsockname()[1]
