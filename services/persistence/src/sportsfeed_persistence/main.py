"""Run the persistence worker: ``python -m sportsfeed_persistence.main`` (settings from the environment)."""

from __future__ import annotations

import sys

import faust
from sportsfeed_common.logs import configure_logging
from sportsfeed_common.settings import SettingsError, load_settings

from .app import create_app
from .settings import PersistenceSettings


def main() -> None:
    try:
        settings = load_settings(PersistenceSettings)
    except SettingsError as error:
        sys.exit(f"sportsfeed-persistence: configuration error: {error}")
    app = create_app(settings)
    worker = faust.Worker(app, loglevel=settings.log_level.lower(), quiet=True)
    # faust configures its own logging when the worker starts; take it back so every line is JSON.
    configure_logging("persistence", settings.log_level)
    worker.execute_from_commandline()


if __name__ == "__main__":
    main()
