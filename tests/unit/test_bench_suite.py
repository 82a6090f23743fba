"""The benchmark suite's plan without servers: the scenario matrix in order of load, the figures the
targets are set on, progress lines, and a lost or duplicated update failing the run."""

from __future__ import annotations

from pathlib import Path

import pytest
from sportsfeed_bench.cli import argument_parser
from sportsfeed_bench.latency import LatencyResult
from sportsfeed_bench.results import LatencyPoint, ScenarioResult
from sportsfeed_bench.suite import Progress, Suite, SuiteOptions, _failures


class _Config:
    kafka_bootstrap = "127.0.0.1:9"

    def service_environment(self) -> dict[str, str]:
        return {"KAFKA_BOOTSTRAP_SERVERS": self.kafka_bootstrap, "DYNAMODB_ENDPOINT": "http://127.0.0.1:9"}


class _Stack:
    config = _Config()


def _suite(**options: object) -> Suite:
    return Suite(_Stack(), SuiteOptions(out=Path("unused"), **options))  # type: ignore[arg-type]


def test_the_matrix_runs_baselines_first_latency_at_the_target_loads_rising_and_ingest_last() -> None:
    steps = [what for what, _ in _suite().steps()]
    assert steps[0].startswith("Baselines")
    latency = [what for what in steps if what.startswith("End-to-end latency")]
    assert latency == ["End-to-end latency at 20 updates/s", "End-to-end latency at 500 updates/s",
                       "End-to-end latency at 1,000 updates/s"]
    assert "Slow consumers: 5% of 500 analysts slow, at 500 updates/s" in steps
    assert not any("ceiling" in what for what in steps[1:])  # the ceiling is persistence's baseline alone
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


def test_other_rates_run_in_rising_order() -> None:
    steps = [what for what, _ in _suite(rates=(2_000, 100)).steps()]
    assert [what for what in steps if what.startswith("End-to-end latency")] == [
        "End-to-end latency at 100 updates/s", "End-to-end latency at 2,000 updates/s"]


def test_the_rates_option_defaults_to_the_target_loads_and_reaches_the_options() -> None:
    parser = argument_parser()
    default = SuiteOptions.from_args(parser.parse_args(["suite"]))
    assert default.rates == (20, 500, 1_000) and default.slow_rate == 500 and default.analysts == 500
    chosen = SuiteOptions.from_args(parser.parse_args(["suite", "--rates", "100,2000", "--analysts", "50"]))
    assert chosen.rates == (100, 2_000) and chosen.analysts == 50


@pytest.mark.parametrize("rates", ["500,fast", "0,500", ""])
def test_rates_must_be_whole_numbers_of_at_least_one(rates: str) -> None:
    with pytest.raises(SystemExit):
        argument_parser().parse_args(["suite", "--rates", rates])


def _latency(rate: float, p99_ms: float) -> LatencyResult:
    return LatencyResult(
        offered_per_second=rate, seconds=20.0, analysts=500, sent=100, accepted=100, stored=100,
        delivered_frames=250, expected_frames=250, lost=0, duplicates=0, p50_ms=p99_ms / 4, p95_ms=p99_ms / 2,
        p99_ms=p99_ms, max_ms=p99_ms, late_sends=0, hops_p50_p99_ms={})


def test_the_targets_see_the_baselines_the_processor_and_each_latency_run() -> None:
    suite = _suite()
    suite.baselines.kafka_latency_p50_ms, suite.baselines.kafka_latency_p99_ms = 2.0, 11.0
    suite.baselines.pipe_updates_per_second = 8_000.0
    suite.processor_updates_per_second = 5_000.0
    suite.latency_by_rate = {500: _latency(500, 80.0), 20: _latency(20, 12.0)}
    figures = suite.figures()
    assert (figures.kafka_latency_p50_ms, figures.kafka_latency_p99_ms) == (2.0, 11.0)
    assert (figures.processor_updates_per_second, figures.pipe_updates_per_second) == (5_000.0, 8_000.0)
    assert figures.latency_by_rate[500].p99_ms == 80.0
    assert suite.latency_points() == [LatencyPoint(500, 20.0, 40.0, 80.0), LatencyPoint(20, 3.0, 6.0, 12.0)]


def test_baselines_not_measured_are_no_figures_rather_than_zero() -> None:
    figures = _suite().figures()
    assert figures.kafka_latency_p99_ms is None and figures.pipe_updates_per_second is None
    assert figures.processor_updates_per_second is None and not figures.latency_by_rate
