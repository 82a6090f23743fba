"""Generated requests against a running ingest process, from its own /openapi.json: no 5xx, ever,
and every answer is one the document promises (status, content type, body schema)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.generation.modes import GenerationMode
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from sportsfeed_common.topics import create_topics
from sportsfeed_ingest.auth import config_entry, new_key

from ..conftest import Servers, free_port
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


CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_no_generated_request_gets_a_server_error(ingest_process: str, mode: GenerationMode) -> None:
    schema = schemathesis.openapi.from_url(f"{ingest_process}/openapi.json")
    operations = [result.ok() for result in schema.get_all_operations()]
    assert {op.path for op in operations} >= {"/v1/odds", "/v1/games", "/feeds"}
    for operation in operations:
        if mode is GenerationMode.NEGATIVE and operation.method.upper() == "GET":
            continue  # the GET routes take no input, so there is nothing to get wrong

        @given(case=operation.as_strategy(generation_mode=mode))
        @settings(max_examples=100, deadline=None, suppress_health_check=list(HealthCheck), database=None)
        def call(case) -> None:
            case.call_and_validate(headers={"X-API-Key": KEY}, checks=CHECKS)

        call()
