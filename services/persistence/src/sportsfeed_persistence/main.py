"""Run the persistence worker and its read API: ``python -m sportsfeed_persistence.main``.

Settings come from the environment (see settings.py).
"""

from __future__ import annotations

import sys

from sportsfeed_common.faust_worker import JsonLoggingWorker
from sportsfeed_common.logs import configure_logging
from sportsfeed_common.settings import SettingsError, load_settings

from .app import create_app
from .settings import PersistenceSettings


def main() -> None:
    try:
        settings = load_settings(PersistenceSettings)
    except SettingsError as error:
        sys.exit(f"sportsfeed-persistence: configuration error: {error}")
    configure_logging("persistence", settings.log_level)
    app = create_app(settings)
    worker = JsonLoggingWorker(app, service_name="persistence", loglevel=settings.log_level.lower(), quiet=True,
                               redirect_stdouts=False)
    worker.execute_from_commandline()


if __name__ == "__main__":
    main()
