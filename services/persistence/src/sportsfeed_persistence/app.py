"""The persistence worker: one faust app, its agents (agents.py) and its read API (readapi.py)."""

from __future__ import annotations

import faust
from sportsfeed_common.faust_worker import track_consumer_lag, worker_app

from .agents import register_agents
from .metrics import PersistenceMetrics
from .readapi import create_read_api
from .settings import PersistenceSettings


def create_app(settings: PersistenceSettings, metrics: PersistenceMetrics | None = None) -> faust.App:
    metrics = metrics or PersistenceMetrics()
    # Nothing waits on storage, so batches may fill: 5 ms of linger lets the dead letters of a
    # batch share produce requests.
    app = worker_app(settings, create_read_api(settings, metrics), producer_linger=0.005)
    register_agents(app, settings, metrics, track_consumer_lag(app, metrics.consumer_lag))
    return app
