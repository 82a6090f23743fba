"""JSON structured logging: one JSON object per line on stdout, ready for any log shipper."""

from __future__ import annotations

import logging
import sys
import time
from typing import Any

from pythonjsonlogger.json import JsonFormatter


def configure_logging(service: str, level: str = "INFO") -> None:
    """Route all logging through one JSON handler; call once at start-up."""
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(
        JsonFormatter(
            "{levelname}{name}{message}",
            style="{",
            rename_fields={"levelname": "level", "name": "logger"},
            static_fields={"service": service},
            timestamp="time",  # ISO-8601 UTC
        )
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)


class ThrottledLog:
    """Logs each kind of repeated event at most once per interval, saying how many were held back.

    For errors that arrive many times a second while a dependency is down: the
    first one is logged at once, the rest are counted into the next line.
    """

    def __init__(self, logger: logging.Logger, interval_seconds: float) -> None:
        self._logger = logger
        self._interval = interval_seconds
        self._last: dict[str, float] = {}
        self._suppressed: dict[str, int] = {}

    def warning(self, kind: str, message: str, **fields: Any) -> None:
        now = time.monotonic()
        if now - self._last.get(kind, float("-inf")) < self._interval:
            self._suppressed[kind] = self._suppressed.get(kind, 0) + 1
            return
        self._last[kind] = now
        suppressed = self._suppressed.pop(kind, 0)
        self._logger.warning(message, extra={**fields, "kind": kind, "suppressed": suppressed})
