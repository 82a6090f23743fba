"""Structured logs: one JSON object per line with the service name and any extra fields."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator

import pytest
from sportsfeed_common import logs
from sportsfeed_common.logs import ThrottledLog, configure_logging


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


def test_repeated_events_are_logged_once_per_interval_with_a_count(
    restore_root_logger: None, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    configure_logging("ingest", "INFO")
    clock = [100.0]
    monkeypatch.setattr(logs.time, "monotonic", lambda: clock[0])
    throttled = ThrottledLog(logging.getLogger("kafka"), interval_seconds=10)
    for _ in range(5):
        throttled.warning("_TRANSPORT", "Kafka client error")
    throttled.warning("_ALL_BROKERS_DOWN", "Kafka client error")
    clock[0] += 10
    throttled.warning("_TRANSPORT", "Kafka client error")
    records = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [(r["kind"], r["suppressed"]) for r in records] == [
        ("_TRANSPORT", 0), ("_ALL_BROKERS_DOWN", 0), ("_TRANSPORT", 4),
    ]
