"""Where the local stack keeps its downloads and state, and which ports it listens on."""

from __future__ import annotations

import os
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
    dynamodb_port: int = 8000
    redis_port: int = 6379

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
            )
        }
        return cls(state_dir=Path(state), cache_dir=Path(cache), **ports)

    @property
    def kafka_bootstrap(self) -> str:
        return f"{HOST}:{self.kafka_port}"

    @property
    def dynamodb_endpoint(self) -> str:
        return f"http://{HOST}:{self.dynamodb_port}"

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
