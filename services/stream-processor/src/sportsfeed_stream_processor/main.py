"""Run the stream processor: ``python -m sportsfeed_stream_processor.main`` (settings from the environment)."""

from __future__ import annotations

import asyncio
import sys

from sportsfeed_common.faust_worker import JsonLoggingWorker
from sportsfeed_common.logs import configure_logging
from sportsfeed_common.settings import SettingsError, load_settings

from .app import create_app, ensure_changelog_topics
from .settings import ProcessorSettings


def main() -> None:
    try:
        settings = load_settings(ProcessorSettings)
    except SettingsError as error:
        sys.exit(f"sportsfeed-stream-processor: configuration error: {error}")
    configure_logging("stream-processor", settings.log_level)
    asyncio.run(ensure_changelog_topics(settings))
    app = create_app(settings)
    worker = JsonLoggingWorker(app, service_name="stream-processor", loglevel=settings.log_level.lower(),
                               quiet=True, redirect_stdouts=False)
    worker.execute_from_commandline()


if __name__ == "__main__":
    main()
