"""Run the push gateway: ``python -m sportsfeed_push_gateway.main`` (settings from the environment)."""

from __future__ import annotations

import sys

import uvloop
from aiohttp import web
from sportsfeed_common.logs import configure_logging
from sportsfeed_common.settings import SettingsError, load_settings

from .app import create_app
from .settings import GatewaySettings

# Sockets are told GOING_AWAY first; this bounds the rest of the shutdown.
SHUTDOWN_TIMEOUT_SECONDS = 10


def main() -> None:
    try:
        settings = load_settings(GatewaySettings)
    except SettingsError as error:
        sys.exit(f"sportsfeed-push-gateway: configuration error: {error}")
    configure_logging("push-gateway", settings.log_level)
    uvloop.install()
    web.run_app(create_app(settings), host=settings.host, port=settings.port, backlog=settings.listen_backlog,
                shutdown_timeout=SHUTDOWN_TIMEOUT_SECONDS, access_log=None, print=None)


if __name__ == "__main__":
    main()
