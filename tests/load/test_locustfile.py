"""The locustfile itself, run by Locust in a subprocess against a stand-in ingest and gateway.

Locust monkey-patches the process with gevent when imported, which must not happen inside
pytest's asyncio loop: hence a subprocess (which is also how users run it).
"""

from __future__ import annotations

import asyncio
import csv
import json
import os
import sys
from pathlib import Path

from aiohttp import web

from .fake_stack import FakeStack

LOCUSTFILE = Path(__file__).with_name("locustfile.py")
RUN_SECONDS = 3
ANALYSTS = 2
DEADLINE_SECONDS = 120  # Locust's start-up, the run and the drain, on a slow machine


async def test_a_short_headless_run_accounts_for_every_update_and_writes_its_reports(tmp_path: Path) -> None:
    fake = FakeStack(api_key="test-key")
    runner = web.AppRunner(fake.app())
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    url = "http://{}:{}".format(*runner.addresses[0])
    try:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "locust", "-f", str(LOCUSTFILE), "--headless", "--only-summary",
            "-u", str(1 + ANALYSTS), "-r", "20", "-t", f"{RUN_SECONDS}s", "--host", url,
            "--gateway-url", url, "--provider-key", "test-key", "--providers", "1",
            "--rate", "200", "--games", "5", "--batch-size", "10", "--feeds-share", "0.5", "--drain-seconds", "20",
            "--csv", str(tmp_path / "run"), "--html", str(tmp_path / "report.html"),
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT, env=_clean_environment(),
        )
        try:
            async with asyncio.timeout(DEADLINE_SECONDS):
                output, _ = await process.communicate()
        except TimeoutError:
            process.kill()
            await process.wait()
            raise
    finally:
        await runner.cleanup()
    log = output.decode(errors="replace")
    assert process.returncode == 0, log
    assert fake.refused == [], log

    summary = json.loads((tmp_path / "run_summary.json").read_text())
    providers, analysts = summary["providers"], summary["analysts"]
    assert providers["sent"] > 0 and providers["accepted"] == providers["sent"], log
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
