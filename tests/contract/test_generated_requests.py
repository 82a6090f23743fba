"""Every HTTP service against its own /openapi.json, with schemathesis as a user runs it: ``--checks all``,
every phase (examples, coverage, fuzzing, and stateful where the document has links), with local and with
production settings. Any disagreement between a document and its service fails the test with schemathesis'
report: the request, the answer, and a command that reproduces it. Every report is also written to
test-reports/schemathesis-<service>-<profile>.txt."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import MODULES, Platform

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
CONFIG = Path(__file__).with_name("schemathesis.toml")
SCHEMATHESIS = Path(sys.executable).with_name("schemathesis")
RUN_SECONDS = 240
REPORTS = REPO / "test-reports"  # each run's whole report, kept for reading after the suite


@pytest.mark.parametrize("service", list(MODULES))
def test_schemathesis_finds_no_disagreement(platform: Platform, service: str) -> None:
    command = [str(SCHEMATHESIS), "--config-file", str(CONFIG), "run", "--checks", "all",
               f"{platform.urls[service]}/openapi.json"]
    env = {**os.environ, **platform.credentials, "PYTHONPATH": str(REPO), "NO_COLOR": "1"}
    run = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, timeout=RUN_SECONDS,
                         check=False)
    report = run.stdout[-12000:] + run.stderr[-3000:]
    REPORTS.mkdir(exist_ok=True)
    (REPORTS / f"schemathesis-{service}-{platform.profile}.txt").write_text(run.stdout + run.stderr)
    assert run.returncode == 0, f"{service} ({platform.profile} settings):\n{report}"
    assert "generated" in report, f"schemathesis generated no test case:\n{report}"
