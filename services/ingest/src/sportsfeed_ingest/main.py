"""Run ingest: ``sportsfeed-ingest`` (settings from the environment)."""

from __future__ import annotations

import sys

from aiohttp import web

from sportsfeed_common.logs import configure_logging
from sportsfeed_common.settings import SettingsError, load_settings

from .app import create_app
from .settings import IngestSettings

# In-flight requests get this long to finish (and the producer to flush) on SIGTERM.
SHUTDOWN_TIMEOUT_SECONDS = 15


def main() -> None:
    try:
        settings = load_settings(IngestSettings)
    except SettingsError as error:
        sys.exit(f"sportsfeed-ingest: configuration error: {error}")
    configure_logging("ingest", settings.log_level)
    web.run_app(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        shutdown_timeout=SHUTDOWN_TIMEOUT_SECONDS,
        access_log=None,  # one JSON line per request would dominate the logs at full rate
        print=None,
    )


if __name__ == "__main__":
    main()
