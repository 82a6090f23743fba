"""Persistence's settings, read once from the environment."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Annotated

import msgspec
from sportsfeed_common.jwt_auth import AnalystAuthSettings
from sportsfeed_common.settings import Port


class PersistenceSettings(AnalystAuthSettings, kw_only=True):
    # AUTH_ENABLED, JWT_SECRET, JWT_AUDIENCE (AnalystAuthSettings): with auth on, every read route
    # wants an analyst's JWT as a bearer (the gateway's /api forwards it). Off locally, on in production.
    host: str = "0.0.0.0"
    port: Port = 8082
    # Up to this many messages are stored together, waiting at most this long to fill a batch. Nothing
    # waits on storage (the push goes out from odds.live beside it), so batches may be as full as
    # DynamoDB likes: fewer, fuller requests cost less CPU per item.
    batch_max_messages: Annotated[int, msgspec.Meta(ge=1, le=10_000)] = 500
    batch_window_seconds: Annotated[float, msgspec.Meta(gt=0, le=5)] = 0.2
    odds_retention_days: Annotated[int, msgspec.Meta(ge=1, le=3650)] = 365
    # faust keeps its working files here (a writable folder; the container's root file system is not).
    data_dir: str = str(Path(tempfile.gettempdir()) / "sportsfeed-{conf.id}")  # {conf.id}: the consumer group
    consumer_group: Annotated[str, msgspec.Meta(min_length=1)] = "sportsfeed-persistence"
    # How long a crashed worker keeps its partitions before the group moves them: the pause in
    # storing after a crash. faust's default (60 s) is long for live prices.
    consumer_session_timeout_seconds: Annotated[float, msgspec.Meta(ge=6, le=300)] = 10.0
    # Browser origins allowed to call the read API (comma-separated; "*" for any). The dashboard's
    # origin in production; locally the dashboard is served from another port, so any.
    cors_allowed_origins: Annotated[str, msgspec.Meta(min_length=1)] = "*"
