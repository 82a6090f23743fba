"""The Locust load test, run as docs/load-testing.md says, against a real whole local stack.

Kafka, DynamoDB Local, Redis and the four services on free ports; Locust with the project's
``locust.conf`` (4 providers, 50 analysts) for a short headless run at 100 updates per second.
Every accepted update must reach every analyst exactly once, in seq order.

Locust monkey-patches the process with gevent when imported, which must not happen inside
pytest's asyncio loop: hence a subprocess (which is also how users run it).
"""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from sportsfeed_devstack.applications import SIMULATED_PROVIDER, LocalProviderKeys
from sportsfeed_devstack.stack import Stack

from ..stacks import private_stack

pytestmark = [pytest.mark.integration, pytest.mark.stack]

REPO = Path(__file__).resolve().parents[2]
ANALYSTS = 50
RUN_SECONDS = 25
RATE = 100
DEADLINE_SECONDS = 240  # Locust's start-up, the run and the drain, on a busy 2-core machine
REPORT_FILE = Path("test-reports") / "locust-real-stack.txt"


@pytest.fixture(scope="module")
def load_stack() -> Iterator[Stack]:
    with private_stack("sportsfeed-load-") as stack:
        yield stack


@pytest.mark.timeout(DEADLINE_SECONDS + 120)
def test_a_short_headless_run_delivers_every_accepted_update_to_every_analyst_once_in_order(
        load_stack: Stack, tmp_path: Path) -> None:
    config = load_stack.config
    environment = {**_clean_environment(),
                   "SPORTSFEED_PROVIDER_KEY": LocalProviderKeys(config.state_dir).key_for(SIMULATED_PROVIDER)}
    finished = subprocess.run(
        [sys.executable, "-m", "locust", "--config", "tests/load/locust.conf",
         "-u", str(4 + ANALYSTS), "-t", f"{RUN_SECONDS}s", "--rate", str(RATE),
         "--host", config.ingest_url, "--gateway-url", config.gateway_url, "--drain-seconds", "90",
         "--csv", str(tmp_path / "run"), "--html", str(tmp_path / "report.html")],
        cwd=REPO, env=environment, capture_output=True, text=True, timeout=DEADLINE_SECONDS, check=False)
    log = finished.stdout + finished.stderr
    REPORT_FILE.parent.mkdir(exist_ok=True)
    REPORT_FILE.write_text(log)
    assert finished.returncode == 0, log[-5000:]

    summary = json.loads((tmp_path / "run_summary.json").read_text())
    providers, analysts = summary["providers"], summary["analysts"]
    assert providers["sent"] > RATE * RUN_SECONDS / 2 and providers["accepted"] == providers["sent"], log
    assert analysts["count"] == ANALYSTS and analysts["disconnects"] == 0, log
    assert analysts["delivered"] == providers["accepted"] * ANALYSTS, log
    assert (analysts["gaps"], analysts["duplicates"], analysts["lost"]) == (0, 0, 0), log
    assert summary["drain"]["complete"], log
    assert summary["latency"]["end_to_end"]["count"] > 0, log
    assert "every accepted update accounted for" in log

    with (tmp_path / "run_stats.csv").open() as stats:
        requests = {row["Name"]: row for row in csv.DictReader(stats)}
    assert {"PUT /feeds", "POST /v1/odds", "odds e2e", "connect"} <= set(requests), log
    assert all(row["Failure Count"] == "0" for row in requests.values()), log
    assert (tmp_path / "report.html").stat().st_size > 0


def _clean_environment() -> dict[str, str]:
    """This environment without settings a developer may have exported for their own load runs."""
    return {name: value for name, value in os.environ.items()
            if not name.startswith(("LOCUST_", "SPORTSFEED_LOAD_", "SPORTSFEED_PROVIDER_KEY", "SPORTSFEED_GATEWAY"))}
