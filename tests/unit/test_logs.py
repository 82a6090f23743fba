"""Structured logs: one JSON object per line with the service name and any extra fields."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator

import pytest

from sportsfeed_common.logs import configure_logging


@pytest.fixture
def restore_root_logger() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


def test_each_record_is_one_json_line(restore_root_logger: None, capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging("ingest", "INFO")
    logging.getLogger("sportsfeed.ingest").info("batch accepted", extra={"updates": 25, "provider": "acme"})
    logging.getLogger("sportsfeed.ingest").debug("not shown at INFO")
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 1
    record = json.loads(lines[0])
    assert record["message"] == "batch accepted"
    assert (record["level"], record["logger"], record["service"]) == ("INFO", "sportsfeed.ingest", "ingest")
    assert (record["updates"], record["provider"]) == (25, "acme")
    assert record["time"].endswith("+00:00")
