"""Run the persistence worker and its read API: ``python -m sportsfeed_persistence.main``.

Settings come from the environment (see settings.py).
"""

from __future__ import annotations

import logging
import sys

import faust
from sportsfeed_common.logs import configure_logging
from sportsfeed_common.settings import SettingsError, load_settings

from .app import create_app
from .settings import PersistenceSettings


class JsonLoggingWorker(faust.Worker):
    """A faust worker that logs JSON lines like every other service.

    The worker installs its own log format when it starts; this hook runs right
    after, so JSON wins. Its terminal spinner is dropped too: its escape codes
    would land in the log between JSON lines.
    """

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.spinner = None

    def on_setup_root_logger(self, logger: logging.Logger, level: int) -> None:
        configure_logging("persistence", logging.getLevelName(level))


def main() -> None:
    try:
        settings = load_settings(PersistenceSettings)
    except SettingsError as error:
        sys.exit(f"sportsfeed-persistence: configuration error: {error}")
    configure_logging("persistence", settings.log_level)
    app = create_app(settings)
    worker = JsonLoggingWorker(app, loglevel=settings.log_level.lower(), quiet=True, redirect_stdouts=False)
    worker.execute_from_commandline()


if __name__ == "__main__":
    main()
