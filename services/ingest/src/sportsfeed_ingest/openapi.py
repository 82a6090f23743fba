"""``/openapi.json``: generated from the request and response types the handlers really use."""

from __future__ import annotations

from typing import Any

import msgspec
from sportsfeed_common.http import (
    SCHEMA_REF,
    ErrorBody,
    ecma_patterns,
    plain_operation,
    schema_ref,
)

from .auth import API_KEY_HEADER
from .payloads import GamesBatch, OddsBatch, ReferenceFeed
from .responses import FeedsAccepted, GamesAccepted, OddsAccepted
from .settings import IngestSettings

_REFUSALS = {
    "400": "The body is not JSON.",
    "401": f"The {API_KEY_HEADER} header is missing or not valid.",
    "408": "The body did not arrive in time.",
    "413": "The body or the number of items is over the limit.",
    "415": "Content-Type is not application/json (UTF-8).",
    "422": "Some items are invalid: one error per bad item; nothing was accepted.",
    "429": "The provider is over its rate limit; Retry-After says when to retry.",
    "503": "Kafka did not acknowledge the batch in time; nothing is acknowledged, retry it.",
}


def _write_operation(summary: str, description: str, request: str, accepted: str, anonymous: bool = False) -> dict[str, Any]:
    error = {"content": {"application/json": {"schema": schema_ref("ErrorBody")}}}
    operation: dict[str, Any] = {
        "summary": summary,
        "description": description,
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": schema_ref(request)}},
        },
        "responses": {
            "202": {
                "description": "Every item is acknowledged by Kafka.",
                "content": {"application/json": {"schema": schema_ref(accepted)}},
            },
            **{status: {"description": text, **error} for status, text in _REFUSALS.items()},
        },
        "security": [{"ApiKey": []}, {}] if anonymous else [{"ApiKey": []}],
    }
    return operation


def build_openapi(settings: IngestSettings) -> dict[str, Any]:
    limit = settings.max_batch_items
    (_, components) = msgspec.json.schema_components(
        [OddsBatch, GamesBatch, ReferenceFeed, OddsAccepted, FeedsAccepted, GamesAccepted, ErrorBody],
        ref_template=SCHEMA_REF,
    )
    for name, field in (("OddsBatch", "updates"), ("GamesBatch", "games"), ("ReferenceFeed", "odds")):
        components[name]["properties"][field].update(minItems=1, maxItems=limit)
    document = {
        "openapi": "3.1.0",
        "info": {
            "title": "sportsfeed ingest",
            "version": "1",
            "description": "The provider API. A batch is all-or-nothing; 202 only after Kafka acknowledged every item.",
        },
        "paths": {
            "/v1/odds": {"post": _write_operation(
                "Submit a batch of odds updates",
                f"1 to {limit} updates. `ts` must carry a time zone and be at most "
                f"{settings.max_future_skew_seconds:g} s ahead of the server clock. The update id is derived "
                "from provider, gameId, market and ts, so a retry is the same update.",
                "OddsBatch", "OddsAccepted")},
            "/v1/games": {"put": _write_operation(
                "Submit game details", f"1 to {limit} games, produced to the compacted games topic.",
                "GamesBatch", "GamesAccepted")},
            "/feeds": {"put": _write_operation(
                "Submit odds in the reference format",
                "The reference system's body. `date` is epoch seconds or 'YYYY-MM-DD hh:mm:ss[.sss]' (UTC); "
                "`type` names the market (default spread); `isOpen: false` marks it suspended.",
                "ReferenceFeed", "FeedsAccepted", anonymous=settings.anonymous_feeds_provider is not None)},
            "/healthz": plain_operation("The process is alive."),
            "/readyz": plain_operation("Kafka is reachable (503 otherwise)."),
            "/metrics": plain_operation("Prometheus metrics.", "text/plain"),
            "/openapi.json": plain_operation("This document."),
        },
        "components": {
            "schemas": components,
            "securitySchemes": {"ApiKey": {"type": "apiKey", "in": "header", "name": API_KEY_HEADER}},
        },
    }
    document["paths"]["/readyz"]["get"]["responses"]["503"] = {"description": "Kafka is not reachable.", "content": {"application/json": {}}}
    return ecma_patterns(document)
