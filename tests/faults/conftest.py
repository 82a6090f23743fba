"""One private whole stack for the fault suite, on free ports: the scenarios break its servers on
purpose, so it is never the session's shared ``servers``. DynamoDB Local stores to disk, as it must
for its restart to keep what it acknowledged."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from sportsfeed_devstack.config import StackConfig, free_port
from sportsfeed_devstack.stack import Stack

from .harness import REPORT_HEADER, FaultReport

FAULT_STACK = frozenset({"kafka", "dynamodb", "redis", "ingest", "persistence", "stream-processor", "push-gateway"})
REPORT_FILE = Path("test-reports") / "fault-report.md"

REPORTS: list[FaultReport] = []


@pytest.fixture(scope="session")
def fault_stack() -> Iterator[Stack]:
    with tempfile.TemporaryDirectory(prefix="sportsfeed-faults-") as state:
        config = replace(
            StackConfig.from_env(),
            state_dir=Path(state),
            kafka_port=free_port(), kafka_controller_port=free_port(), dynamodb_port=free_port(),
            redis_port=free_port(), ingest_port=free_port(), persistence_port=free_port(),
            processor_port=free_port(), gateway_port=free_port(),
            ingest_workers=2,  # as in production: more than one process answers providers
        )
        stack = Stack(config, only=FAULT_STACK)
        try:
            stack.start()
            yield stack
        finally:
            stack.stop()


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if not REPORTS:
        return
    table = "\n".join([REPORT_HEADER, *(report.row() for report in REPORTS)])
    REPORT_FILE.parent.mkdir(exist_ok=True)
    REPORT_FILE.write_text(f"# Fault suite\n\n{table}\n")
    terminalreporter.section("fault suite: every update answered 202, stored and delivered")
    terminalreporter.write_line(table)
    terminalreporter.write_line(f"(also in {REPORT_FILE})")
