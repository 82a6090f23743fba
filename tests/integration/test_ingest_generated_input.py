"""Generated requests against a running ingest process, from its own /openapi.json: no 5xx, ever,
and every answer is one the document promises (status, content type, body schema)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from schemathesis.generation.modes import GenerationMode
from sportsfeed_common.topics import create_topics
from sportsfeed_ingest.auth import config_entry, new_key

from ..conftest import Servers, free_port
from ..generated_requests import check_generated_requests
from ..services import service_process

pytestmark = pytest.mark.integration

KEY = new_key()


@pytest.fixture(scope="module")
async def ingest_url(servers: Servers) -> str:
    await create_topics(servers.kafka_bootstrap)
    return f"http://127.0.0.1:{free_port()}"


@pytest.fixture(scope="module")
def ingest_process(servers: Servers, ingest_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    env = {
        **os.environ,
        **servers.environment(),
        "PORT": ingest_url.rsplit(":", 1)[1],
        "HOST": "127.0.0.1",
        "API_KEYS": config_entry("fuzz", KEY),
        "RATE_LIMITS": "*=1000000/second",
    }
    log = Path(tmp_path_factory.mktemp("ingest")) / "ingest.log"
    with service_process("sportsfeed_ingest.main", env, ingest_url, log) as process:
        yield ingest_url
    assert process.returncode == 0, f"ingest did not shut down cleanly:\n{log.read_text()[-3000:]}"


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_no_generated_request_gets_a_server_error(ingest_process: str, mode: GenerationMode) -> None:
    check_generated_requests(ingest_process, mode, {"/v1/odds", "/v1/games", "/feeds"}, examples=100,
                             headers={"X-API-Key": KEY})
