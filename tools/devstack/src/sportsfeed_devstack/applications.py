"""The platform's own processes in the local stack: the services and the simulated provider.

They run from the same Python environment as the launcher, configured through
environment variables exactly as in Kubernetes.
"""

from __future__ import annotations

import json
import os
import secrets
import sys
import urllib.error
import urllib.request
from pathlib import Path

from sportsfeed_ingest.auth import config_entry, new_key

from .config import HOST, StackConfig
from .servers import Server

SIMULATED_PROVIDER = "sim"
# Reference-era scripts send no API key; locally, PUT /feeds accepts them as this provider.
REFERENCE_PROVIDER = "reference"


class LocalProviderKeys:
    """API keys of the local stack's providers, kept in the state folder (mode 0600).

    Ingest is configured with their hashes only, as in production; the plain
    keys are the providers' secrets, which here live beside the stack.
    """

    def __init__(self, state_dir: Path) -> None:
        self.path = state_dir / "provider-keys.json"

    def key_for(self, provider: str) -> str:
        keys = json.loads(self.path.read_text()) if self.path.exists() else {}
        if provider not in keys:
            keys[provider] = new_key()
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.path.touch(mode=0o600)
            self.path.write_text(json.dumps(keys, indent=2))
        return keys[provider]

    def api_keys_config(self) -> str:
        return config_entry(SIMULATED_PROVIDER, self.key_for(SIMULATED_PROVIDER))


class PythonService(Server):
    is_application = True
    module: str

    def argv(self) -> list[str]:
        return [sys.executable, "-m", self.module]

    def settings(self) -> dict[str, str]:
        return {}

    def environment(self) -> dict[str, str]:
        return {**os.environ, **self.config.service_environment(), **self.settings()}


def http_ok(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status == 200
    except (urllib.error.URLError, ConnectionError, TimeoutError):
        return False


class IngestService(PythonService):
    name = "ingest"
    module = "sportsfeed_ingest.main"

    def ports(self) -> dict[str, int]:
        return {"ingest": self.config.ingest_port}

    def address(self) -> str:
        return self.config.ingest_url

    def settings(self) -> dict[str, str]:
        return {
            "HOST": HOST,
            "PORT": str(self.config.ingest_port),
            "API_KEYS": LocalProviderKeys(self.config.state_dir).api_keys_config(),
            "RATE_LIMITS": self.config.ingest_rate_limits,
            "WORKERS": str(self.config.ingest_workers),
            "ANONYMOUS_FEEDS_PROVIDER": REFERENCE_PROVIDER,
        }

    def probe(self) -> bool:
        return http_ok(f"{self.config.ingest_url}/readyz")


class PersistenceService(PythonService):
    name = "persistence"
    module = "sportsfeed_persistence.main"

    def ports(self) -> dict[str, int]:
        return {"persistence": self.config.persistence_port}

    def address(self) -> str:
        return self.config.persistence_url

    def settings(self) -> dict[str, str]:
        return {"HOST": HOST, "PORT": str(self.config.persistence_port)}

    def probe(self) -> bool:
        return http_ok(f"{self.config.persistence_url}/readyz")


def local_rate_low_thresholds(simulator_rate: float) -> str:
    """rate_low for the local stack: the charts' floor for every provider, and for the simulated one
    three quarters of the rate it posts at, so that stopping or slowing it shows on the board within
    a minute."""
    return f"*=60,{SIMULATED_PROVIDER}={max(1, int(simulator_rate * 60 * 0.75))}"


class StreamProcessorService(PythonService):
    name = "stream-processor"
    module = "sportsfeed_stream_processor.main"

    def ports(self) -> dict[str, int]:
        return {"stream-processor": self.config.processor_port}

    def address(self) -> str:
        return self.config.processor_url

    def settings(self) -> dict[str, str]:
        # The only processor of the local stack: a restart takes its partitions straight back.
        return {"HOST": HOST, "PORT": str(self.config.processor_port),
                "CONSUMER_GROUP_INSTANCE_ID": "stream-processor-local",
                "RATE_LOW_THRESHOLDS": local_rate_low_thresholds(self.config.simulator_rate)}

    def probe(self) -> bool:
        return http_ok(f"{self.config.processor_url}/readyz")


class PushGatewayService(PythonService):
    name = "push-gateway"
    module = "sportsfeed_push_gateway.main"

    def ports(self) -> dict[str, int]:
        return {"push-gateway": self.config.gateway_port}

    def address(self) -> str:
        return f"{self.config.gateway_url} (dashboard; WebSocket at /ws)"

    def settings(self) -> dict[str, str]:
        return {
            "HOST": HOST, "PORT": str(self.config.gateway_port), "POD_NAME": "push-gateway-local",
            "READ_API_URL": self.config.persistence_url,
            "ALLOWED_ORIGINS": f"{self.config.gateway_url},http://localhost:{self.config.gateway_port}",
            "ADMIN_TOKEN": local_admin_token(self.config.state_dir),
        }

    def probe(self) -> bool:
        return http_ok(f"{self.config.gateway_url}/readyz")


def local_admin_token(state_dir: Path) -> str:
    """The local gateway's admin token, made once and kept in the state folder (mode 0600)."""
    path = state_dir / "gateway-admin-token"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.touch(mode=0o600)
        path.write_text(secrets.token_urlsafe(32))
    return path.read_text().strip()


class SimulatedProvider(PythonService):
    name = "provider"
    module = "sportsfeed_providers.simulate"

    def ports(self) -> dict[str, int]:
        return {}

    def address(self) -> str:
        return f"{self.config.simulator_games} games, {self.config.simulator_rate} updates/s -> ingest"

    def settings(self) -> dict[str, str]:
        return {
            "INGEST_URL": self.config.ingest_url,
            "PROVIDER_API_KEY": LocalProviderKeys(self.config.state_dir).key_for(SIMULATED_PROVIDER),
        }

    def argv(self) -> list[str]:
        return [
            *super().argv(),
            "--games", str(self.config.simulator_games),
            "--rate", str(self.config.simulator_rate),
        ]

    def probe(self) -> bool:
        return True  # it is a client: running is all there is to check


def applications(config: StackConfig) -> list[Server]:
    return [IngestService(config), PersistenceService(config), StreamProcessorService(config),
            PushGatewayService(config), SimulatedProvider(config)]
