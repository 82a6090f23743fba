"""The benchmark suite's plan without servers: the scenario matrix in order of load, progress lines,
and a lost or duplicated update failing the run."""

from __future__ import annotations

from pathlib import Path

import pytest
from sportsfeed_bench.results import ScenarioResult
from sportsfeed_bench.suite import Progress, Suite, SuiteOptions, _failures


class _Config:
    kafka_bootstrap = "127.0.0.1:9"

    def service_environment(self) -> dict[str, str]:
        return {"KAFKA_BOOTSTRAP_SERVERS": self.kafka_bootstrap, "DYNAMODB_ENDPOINT": "http://127.0.0.1:9"}


class _Stack:
    config = _Config()


def test_the_matrix_runs_baselines_first_latency_by_rising_load_and_ingest_last() -> None:
    steps = [what for what, _ in Suite(_Stack(), SuiteOptions(out=Path("unused"))).steps()]  # type: ignore[arg-type]
    assert steps[0].startswith("Baselines")
    latency = [what for what in steps if what.startswith("End-to-end latency")]
    assert latency == ["End-to-end latency at 50% of the storage ceiling", "End-to-end latency at 1,000 updates/s",
                       "End-to-end latency at 90% of the storage ceiling"]
    assert any("Slow consumers: 5% of 500" in what for what in steps)
    assert any("Reconnect storm: 5,000 analysts" in what for what in steps)
    assert steps[-1].startswith("Ingest throughput")  # its flood is left undrained
    assert "Persistence: odds.live -> DynamoDB" in steps and "Stream processor: odds.raw -> odds.live" in steps


def test_progress_numbers_each_step(capsys: pytest.CaptureFixture[str]) -> None:
    progress = Progress(3)
    progress.next("first")
    progress.next("second")
    lines = [line for line in capsys.readouterr().out.splitlines() if line]
    assert lines[0].startswith("[1/3, 0m0") and lines[0].endswith("] first")
    assert lines[1].startswith("[2/3, ") and lines[1].endswith("] second")


def test_a_lost_or_duplicated_update_is_a_failure() -> None:
    clean = ScenarioResult("clean", sent=10, accepted=10, stored=10, delivered=10)
    lossy = ScenarioResult("lossy", sent=10, accepted=10, stored=9)
    copied = ScenarioResult("copied", sent=10, stored=10, duplicates=1)
    assert _failures([clean]) == []
    assert _failures([clean, lossy, copied]) == ["lossy: lost 1, duplicates 0", "copied: lost 0, duplicates 1"]
