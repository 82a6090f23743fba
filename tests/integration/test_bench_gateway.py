"""The gateway benchmark command runs end to end at a small scale and reports a clean run.

Figures are not checked (no test asserts a timing); what is checked is that the command
measures what it says: every analyst got every frame once, and every analyst came back
after the restart with every missed update replayed.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration


def test_the_gateway_benchmark_runs_and_accounts_for_every_frame(tmp_path: Path) -> None:
    results = tmp_path / "gateway.json"
    run = subprocess.run(
        [sys.executable, "-m", "sportsfeed_bench.cli", "gateway", "--clients", "30,60", "--rounds", "1",
         "--updates", "40", "--reconnect-clients", "40", "--missed", "2", "--json", str(results)],
        capture_output=True, text=True, timeout=600, check=False)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    assert "Frames delivered per second" in run.stdout and "Reconnect storm, 40 analysts" in run.stdout

    report = json.loads(results.read_text())
    # By default the gateway is measured twice (analysts on frames=one, then on frames=batch), between
    # the bare broadcaster and Centrifugo as shipped, which reads a topic of its own through its Kafka consumer.
    assert [(d["target"], d["clients"], d["frames"]) for d in report["deliveries"]] == [
        ("baseline", 30, "one"), ("gateway", 30, "one"), ("gateway", 30, "batch"), ("centrifugo", 30, "shipped"),
        ("baseline", 60, "one"), ("gateway", 60, "one"), ("gateway", 60, "batch"), ("centrifugo", 60, "shipped")]
    assert "gateway (frames=batch) / centrifugo (as shipped) with 60 analysts" in run.stdout
    for delivery in report["deliveries"]:
        assert delivery["median"]["updates"] == 40 * delivery["clients"]
        assert delivery["median_cpu_us_per_message"] >= 0  # rounds this short are within a clock tick of CPU
        if delivery["frames"] != "batch":  # the batch run reuses the memory the first one's sockets left behind
            assert delivery["bytes_per_connection"] > 0
        tally = delivery["tally"]
        # the warm-up burst (one update per game) and the measured one, to every analyst
        assert tally["frames"] == (20 + 40) * delivery["clients"]
        assert tally["gaps"] == tally["duplicates"] == tally["conflated"] == 0
    storm = {s["target"]: s for s in report["reconnect_storm"]}
    assert storm["gateway"]["missed_per_analyst"] == 20 * 2
    assert storm["gateway"]["tally"]["connections"] == 2 * 40  # everyone came back
    assert storm["gateway"]["tally"]["frames"] == (40 + 40) * 40  # the burst, then the missed ones replayed
    assert storm["gateway"]["tally"]["not_recovered"] == 0
