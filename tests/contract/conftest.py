"""The four services as real processes against the session's servers, once with local settings (as
``./sportsfeed up`` runs them) and once with production settings (as charts/sportsfeed/values-eks.yaml
sets them: analysts' auth on, no anonymous provider), for schemathesis to call."""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

import boto3
import jwt
import pytest
from sportsfeed_common.aws import dynamodb_client_kwargs
from sportsfeed_common.settings import CommonSettings, load_settings
from sportsfeed_common.table import create_table
from sportsfeed_common.topics import GAMES, ODDS_LIVE, ODDS_RAW, PROVIDER_ACTIVITY, create_topics
from sportsfeed_devstack.config import free_port
from sportsfeed_ingest.auth import config_entry, new_key

from ..conftest import Servers
from ..services import caught_up_group, service_process

MODULES = {"ingest": "sportsfeed_ingest.main", "persistence": "sportsfeed_persistence.main",
           "stream-processor": "sportsfeed_stream_processor.main", "push-gateway": "sportsfeed_push_gateway.main"}
PROFILES = ("local", "production")


@dataclass(frozen=True)
class Platform:
    profile: str
    urls: dict[str, str]
    credentials: dict[str, str]  # the CONTRACT_* variables tests/contract/schemathesis.toml reads


def _environments(servers: Servers, table: str, profile: str, secrets: dict[str, str]) -> dict[str, dict[str, str]]:
    common = {**os.environ, **servers.environment(), "DYNAMODB_TABLE": table, "HOST": "127.0.0.1",
              "LOG_LEVEL": "WARNING"}
    ports = {name: str(free_port()) for name in MODULES}
    production = profile == "production"
    analysts = {"AUTH_ENABLED": "true", "JWT_SECRET": secrets["jwt"]} if production else {}
    return {
        "ingest": {**common, "PORT": ports["ingest"], "API_KEYS": config_entry("contract", secrets["key"]),
                   "RATE_LIMITS": "*=1000000/second",
                   **({} if production else {"ANONYMOUS_FEEDS_PROVIDER": "reference"})},
        "persistence": {**common, "PORT": ports["persistence"], **analysts},
        "stream-processor": {**common, "PORT": ports["stream-processor"]},
        "push-gateway": {**common, "PORT": ports["push-gateway"], "ADMIN_TOKEN": secrets["admin"], **analysts,
                         "READ_API_URL": f"http://127.0.0.1:{ports['persistence']}"},
    }


@pytest.fixture(scope="module", params=PROFILES)
async def contract_setup(request: pytest.FixtureRequest, servers: Servers) -> tuple[str, dict, dict[str, str]]:
    await create_topics(servers.kafka_bootstrap)
    table = f"contract-{uuid.uuid4().hex[:8]}"
    settings = load_settings(CommonSettings, {**servers.environment(), "DYNAMODB_TABLE": table})
    create_table(boto3.client("dynamodb", **dynamodb_client_kwargs(settings)), table)
    secrets = {"key": new_key(), "jwt": uuid.uuid4().hex, "admin": uuid.uuid4().hex}
    environments = _environments(servers, table, request.param, secrets)
    environments["persistence"]["CONSUMER_GROUP"] = await caught_up_group(
        servers.kafka_bootstrap, [ODDS_LIVE.name, GAMES.name])
    environments["stream-processor"]["CONSUMER_GROUP"] = await caught_up_group(
        servers.kafka_bootstrap, [ODDS_RAW.name, PROVIDER_ACTIVITY.name])
    return request.param, environments, secrets


@pytest.fixture(scope="module")
def platform(contract_setup, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Platform]:
    profile, environments, secrets = contract_setup
    logs = Path(tmp_path_factory.mktemp(f"contract-{profile}"))
    urls = {name: f"http://127.0.0.1:{env['PORT']}" for name, env in environments.items()}
    analyst_jwt = jwt.encode({"sub": "contract-analyst", "exp": int(time.time()) + 3600}, secrets["jwt"], "HS256")
    with ExitStack() as running:
        for name, module in MODULES.items():
            running.enter_context(service_process(module, environments[name], urls[name], logs / f"{name}.log"))
        yield Platform(profile, urls, {"CONTRACT_API_KEY": secrets["key"], "CONTRACT_ANALYST_JWT": analyst_jwt,
                                       "CONTRACT_ADMIN_TOKEN": secrets["admin"]})
