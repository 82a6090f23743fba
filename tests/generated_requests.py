"""Requests generated from a service's own /openapi.json (schemathesis): no 5xx, and every answer
one the document promises (status, content type, body schema)."""

from __future__ import annotations

import schemathesis
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from schemathesis.checks import not_a_server_error
from schemathesis.generation.modes import GenerationMode
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


def check_generated_requests(base_url: str, mode: GenerationMode, paths: set[str], examples: int,
                             headers: dict[str, str] | None = None) -> None:
    """Call every operation that takes input with ``examples`` generated requests each.

    ``paths`` must all be in the document (so a missing route fails instead of going untested).
    """
    schema = schemathesis.openapi.from_url(f"{base_url}/openapi.json")
    operations = [result.ok() for result in schema.get_all_operations()]
    assert {operation.path for operation in operations} >= paths
    for operation in operations:
        raw = operation.definition.raw
        if not raw.get("parameters") and not raw.get("requestBody"):
            continue  # health, metrics, the document itself: no input to get wrong

        @given(case=operation.as_strategy(generation_mode=mode))
        @hypothesis_settings(max_examples=examples, deadline=None, suppress_health_check=list(HealthCheck),
                             database=None)
        def call(case) -> None:
            case.call_and_validate(headers=headers, checks=CHECKS)

        call()
