"""One private whole stack for the fault suite, on free ports: the scenarios break its servers on
purpose, so it is never the session's shared ``servers``. DynamoDB Local stores to disk, as it must
for its restart to keep what it acknowledged."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sportsfeed_devstack.stack import Stack

from ..stacks import private_stack
from .harness import REPORT_HEADER, FaultReport

REPORT_FILE = Path("test-reports") / "fault-report.md"

REPORTS: list[FaultReport] = []


@pytest.fixture(scope="session")
def fault_stack() -> Iterator[Stack]:
    # Two ingest workers, as in production: more than one process answers providers.
    with private_stack("sportsfeed-faults-", ingest_workers=2) as stack:
        yield stack


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if not REPORTS:
        return
    table = "\n".join([REPORT_HEADER, *(report.row() for report in REPORTS)])
    REPORT_FILE.parent.mkdir(exist_ok=True)
    REPORT_FILE.write_text(f"# Fault suite\n\n{table}\n")
    terminalreporter.section("fault suite: every update answered 202, stored and delivered")
    terminalreporter.write_line(table)
    terminalreporter.write_line(f"(also in {REPORT_FILE})")
