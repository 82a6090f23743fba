"""Ingest's settings, read once from the environment."""

from __future__ import annotations

from typing import Annotated

import msgspec
from sportsfeed_common.ids import ProviderId
from sportsfeed_common.settings import CommonSettings, Port

from .auth import parse_api_keys
from .ratelimit import parse_rate_limits

PositiveSeconds = Annotated[float, msgspec.Meta(gt=0, le=300)]


class IngestSettings(CommonSettings, kw_only=True):
    host: str = "0.0.0.0"
    port: Port = 8081
    # Processes serving the port together (SO_REUSEPORT). In Kubernetes keep 1 and scale pods;
    # on one machine, one per core. Each worker has its own /metrics.
    workers: Annotated[int, msgspec.Meta(ge=1, le=64)] = 1
    # provider=sha256:<hex of the key's SHA-256>, comma-separated. Only hashes, never keys.
    api_keys: str = ""
    # provider=<limits>, comma-separated; '*' is everyone else. Limits count updates, not
    # requests, in the notation of the `limits` library: "5000/second;200000/minute".
    rate_limits: str = "*=5000/second"
    max_batch_items: Annotated[int, msgspec.Meta(ge=1, le=10_000)] = 500
    max_body_bytes: Annotated[int, msgspec.Meta(ge=1024, le=64 * 1024 * 1024)] = 1024 * 1024
    # How long a request may wait for Kafka to acknowledge its batch before answering 503.
    produce_timeout_seconds: PositiveSeconds = 5.0
    # How long a request body may take to arrive; a slower sender gets 408.
    body_timeout_seconds: PositiveSeconds = 10.0
    # How far ahead of the server clock a provider's `ts` may be before it is refused.
    max_future_skew_seconds: PositiveSeconds = 300.0
    # How long a rate-limit check may take before the request goes through unchecked.
    rate_limit_timeout_seconds: PositiveSeconds = 0.25
    # Lets reference-era scripts (no API key) use PUT /feeds as this provider. Off unless set;
    # never set it in production.
    anonymous_feeds_provider: ProviderId | None = None

    def __post_init__(self) -> None:
        super().__post_init__()
        parse_api_keys(self.api_keys)
        parse_rate_limits(self.rate_limits)
