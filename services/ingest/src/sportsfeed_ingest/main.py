"""Run ingest: ``sportsfeed-ingest`` (settings from the environment)."""

from __future__ import annotations

import multiprocessing
import os
import signal
import sys

import uvloop
from aiohttp import web
from sportsfeed_common.logs import configure_logging
from sportsfeed_common.settings import SettingsError, load_settings

from .app import create_app
from .settings import IngestSettings

# In-flight requests get this long to finish (and the producer to flush) on SIGTERM.
SHUTDOWN_TIMEOUT_SECONDS = 15


def serve(settings: IngestSettings, reuse_port: bool) -> None:
    configure_logging("ingest", settings.log_level)
    # uvloop: the event loop's own overhead is a large share of each request at full rate.
    uvloop.install()
    web.run_app(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        reuse_port=reuse_port,
        shutdown_timeout=SHUTDOWN_TIMEOUT_SECONDS,
        access_log=None,  # one JSON line per request would dominate the logs at full rate
        print=None,
    )


def _worker() -> None:
    """An extra worker process: same settings, same port."""
    serve(load_settings(IngestSettings), reuse_port=True)


def main() -> None:
    try:
        settings = load_settings(IngestSettings)
    except SettingsError as error:
        sys.exit(f"sportsfeed-ingest: configuration error: {error}")
    if settings.workers == 1:
        serve(settings, reuse_port=False)
        return
    # Spawned (not forked): each worker starts clean, with its own producer and event loop.
    context = multiprocessing.get_context("spawn")
    workers = [context.Process(target=_worker, name=f"ingest-worker-{n}") for n in range(1, settings.workers)]
    for worker in workers:
        worker.start()

    def stop_workers(*_: object) -> None:
        for worker in workers:
            if worker.is_alive() and worker.pid is not None:
                os.kill(worker.pid, signal.SIGTERM)

    # The first worker is this process; on its way out it stops the others and waits for them,
    # so SIGTERM to the parent alone (Kubernetes) still drains every worker.
    try:
        serve(settings, reuse_port=True)
    finally:
        stop_workers()
        for worker in workers:
            worker.join(timeout=SHUTDOWN_TIMEOUT_SECONDS + 5)


if __name__ == "__main__":
    main()
