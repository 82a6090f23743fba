"""The benchmark suite's results without servers: what counts as lost, the summary table's
columns, the JSON file read back with its targets, and the latency plot being a real PNG of the set
size."""

from __future__ import annotations

import json
import struct
from pathlib import Path

import pytest
from sportsfeed_bench.results import (
    HEADERS,
    PLOT_DPI,
    PLOT_SIZE_INCHES,
    LatencyPoint,
    ScenarioResult,
    format_summary_table,
    plot_latency_against_load,
    read_json,
    write_json,
)
from sportsfeed_bench.targets import SuiteFigures, TargetRow, gateway_cpu_row

INGEST = ScenarioResult(
    "ingest", sent=250_000, accepted=250_000, stored=250_000, latency_p50_ms=22.2, latency_p95_ms=51.0,
    latency_p99_ms=76.3, throughput=25_562.4, baseline_name="raw aiokafka producer", baseline_figure=31_920.0,
)
LATENCY_AT_1000 = ScenarioResult(
    "500 analysts at 1,000 updates/s", offered_rate=1_000, sent=60_000, accepted=60_000, stored=60_000,
    delivered=59_997, duplicates=2, latency_p50_ms=12.0, latency_p95_ms=40.5, latency_p99_ms=88.0, throughput=1_000,
    baseline_name="Kafka EndToEndLatency", baseline_figure=4.0, compared="latency_p99_ms",
)
KAFKA_ONLY = ScenarioResult("Kafka ProducerPerformance", throughput=180_000, throughput_unit="records/s")
LATENCY_WITH_STORAGE = ScenarioResult(
    "latency at 50% of storage ceiling", offered_rate=700, sent=17_500, accepted=17_500, stored=17_500,
    delivered=17_500, latency_p50_ms=9.0, latency_p95_ms=20.0, latency_p99_ms=41.0, storage_lag_p50_ms=250.0,
    storage_lag_p99_ms=1_000.0, storage_caught_up_seconds=3.4, throughput=3_500, throughput_unit="frames/s",
    baseline_name="Kafka EndToEndLatency", baseline_figure=4.0, compared="latency_p99_ms",
)


def test_lost_counts_accepted_updates_missing_from_the_last_stage_measured() -> None:
    assert LATENCY_AT_1000.lost == 3  # delivered is the last stage here
    assert ScenarioResult("stored only", sent=10, accepted=8, stored=7).lost == 1  # refusals are not losses
    assert ScenarioResult("straight to Kafka", sent=10, stored=10).lost == 0  # counted from what was sent
    assert INGEST.lost == 0
    assert ScenarioResult("ingest only", sent=10, accepted=10).lost is None  # nothing after ingest measured
    assert KAFKA_ONLY.lost is None


def test_a_stage_counting_more_than_the_one_before_is_refused() -> None:
    with pytest.raises(ValueError, match="delivered .* exceeds stored"):
        ScenarioResult("miscounted", sent=10, accepted=10, stored=9, delivered=10)
    with pytest.raises(ValueError, match="compared must be one of"):
        ScenarioResult("unknown figure", compared="latency_p50_ms")


def test_the_ratio_sets_the_compared_figure_against_the_baseline() -> None:
    assert INGEST.ratio == pytest.approx(25_562.4 / 31_920.0)
    assert LATENCY_AT_1000.figure == 88.0 and LATENCY_AT_1000.figure_unit == "ms p99"
    assert LATENCY_AT_1000.ratio == pytest.approx(22.0)
    assert KAFKA_ONLY.ratio is None


def test_the_table_aligns_every_column_and_shows_measured_beside_baseline() -> None:
    table = format_summary_table([INGEST, LATENCY_AT_1000, KAFKA_ONLY]).splitlines()
    header, rule, ingest, latency, kafka = table[:5]
    assert header.split() == " ".join(HEADERS).split()
    # Right-aligned columns end where their header ends, on every row.
    for column in ("accepted", "lost", "duplicates", "p99 ms", "measured", "baseline", "ratio"):
        end = header.index(column) + len(column)
        for row in (ingest, latency, kafka):
            assert row[end - 1] != " " and row[end : end + 2] == "  ", (column, row)
    assert set(rule) == {"-", " "} and len(rule) == max(len(line) for line in (header, ingest, latency, kafka))
    assert "25,562 updates/s" in ingest and "31,920 updates/s" in ingest and "0.80" in ingest
    assert "88.0 ms p99" in latency and "4.0 ms p99" in latency and "22.00" in latency
    assert ingest.endswith("raw aiokafka producer") and latency.endswith("Kafka EndToEndLatency")
    cells = latency.split("  ")
    assert [cell.strip() for cell in cells if cell.strip()][1:8] == [
        "1,000", "60,000", "60,000", "60,000", "59,997", "3", "2"]
    assert "180,000 records/s" in kafka and kafka.split()[-1] == "-"
    footer = table[5:]
    assert footer == [
        "lost: 500 analysts at 1,000 updates/s 3",
        "duplicates: 500 analysts at 1,000 updates/s 2",
        "not counted past ingest: Kafka ProducerPerformance",
    ]


def test_a_clean_run_says_so_under_the_table() -> None:
    footer = format_summary_table([INGEST]).splitlines()[-2:]
    assert footer == ["lost: 0 in every scenario that counts them", "duplicates: 0 in every scenario"]


def test_the_json_file_reads_back_to_the_same_results(tmp_path: Path) -> None:
    path = tmp_path / "results.json"
    machine = {"cpus": 2, "memory_gib": 24}
    write_json(path, [INGEST, LATENCY_AT_1000, KAFKA_ONLY], machine)
    assert read_json(path) == (machine, [INGEST, LATENCY_AT_1000, KAFKA_ONLY])
    stored = json.loads(path.read_text())["scenarios"]
    # Derived figures are written too, for readers of the file alone.
    assert [s["lost"] for s in stored] == [0, 3, None]
    assert stored[1]["ratio"] == pytest.approx(22.0) and stored[1]["figure_unit"] == "ms p99"


def png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG signature"
    assert data[12:16] == b"IHDR"
    return struct.unpack(">II", data[16:24])


@pytest.mark.parametrize("points", [
    [LatencyPoint(500, 30.0, 90.0, 180.0), LatencyPoint(1_000, 900.0, 2_000.0, 4_100.0),
     LatencyPoint(20, 6.0, 11.0, 24.0)],
    # A single run, an empty histogram's NaN and a 0 ms p50 on the logarithmic axis.
    [LatencyPoint(20, 0.0, float("nan"), 3.0)],
])
def test_the_latency_plot_is_a_png_of_the_set_size(tmp_path: Path, points: list[LatencyPoint]) -> None:
    path = tmp_path / "latency.png"
    plot_latency_against_load(path, points)
    assert png_size(path) == (PLOT_SIZE_INCHES[0] * PLOT_DPI, PLOT_SIZE_INCHES[1] * PLOT_DPI)
    assert path.read_bytes().endswith(b"IEND\xaeB`\x82")
    assert path.stat().st_size > 10_000  # lines, labels and legend drawn, not a blank canvas


def test_the_storage_lag_has_its_columns_and_the_catch_up_its_footer() -> None:
    table = format_summary_table([INGEST, LATENCY_WITH_STORAGE]).splitlines()
    header, _, ingest, latency = table[:4]
    for column, value in (("storage p50 ms", "250.0"), ("storage p99 ms", "1000.0")):
        end = header.index(column) + len(column)
        assert latency[end - len(value) : end] == value
        assert ingest[end - 1] == "-"  # not measured there
    assert table[-2:] == [
        "storage p50/p99 ms: ingest to stored in DynamoDB, beside the push; upper bounds of persistence's histogram "
        "buckets",
        "storage caught up after the load stopped: latency at 50% of storage ceiling 3.4 s",
    ]
    assert not any(line.startswith("storage") for line in format_summary_table([INGEST]).splitlines())


def test_the_json_file_lists_the_targets_beside_the_scenarios(tmp_path: Path) -> None:
    path = tmp_path / "results.json"
    met = TargetRow("end-to-end p99 at 500/s", "<= 100 ms", "88 ms", "EndToEndLatency p99 4 ms", "met",
                    True, 100.0, 88.0, "ms")
    write_json(path, [LATENCY_AT_1000], {}, [met, gateway_cpu_row(SuiteFigures({}))])
    targets = json.loads(path.read_text())["targets"]
    assert targets[0] == {"target": "end-to-end p99 at 500/s", "limit": "<= 100 ms", "measured": "88 ms",
                          "baseline": "EndToEndLatency p99 4 ms", "verdict": "met", "met": True,
                          "limit_value": 100.0, "measured_value": 88.0, "unit": "ms"}
    assert targets[1]["verdict"] == "not measured" and targets[1]["met"] is None
    assert read_json(path) == ({}, [LATENCY_AT_1000])


def test_the_storage_figures_read_back_from_the_json_file(tmp_path: Path) -> None:
    path = tmp_path / "results.json"
    write_json(path, [LATENCY_WITH_STORAGE], {})
    assert read_json(path) == ({}, [LATENCY_WITH_STORAGE])
    assert json.loads(path.read_text())["scenarios"][0]["storage_caught_up_seconds"] == 3.4
