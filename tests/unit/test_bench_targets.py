"""The suite's targets without servers: given the figures a run measured, the rows, their verdicts and
the printed table; a target not measured says so instead of a figure."""

from __future__ import annotations

import math

import pytest
from sportsfeed_bench.cpu_usage import OTHERS, CpuUsage
from sportsfeed_bench.latency import LatencyResult
from sportsfeed_bench.targets import (
    NOT_MEASURED,
    Bound,
    SuiteFigures,
    evaluate_targets,
    format_targets_table,
)


def _latency(rate: float, p50_ms: float, p99_ms: float, **figures: object) -> LatencyResult:
    base: dict = {
        "offered_per_second": rate, "seconds": 20.0, "analysts": 500, "sent": 10_000, "accepted": 10_000,
        "stored": 10_000, "delivered_frames": 250_000, "expected_frames": 250_000, "lost": 0, "duplicates": 0,
        "p50_ms": p50_ms, "p95_ms": p99_ms, "p99_ms": p99_ms, "max_ms": p99_ms, "late_sends": 0,
        "hops_p50_p99_ms": {}, "storage_lag_p99_ms": 1_000.0, "storage_caught_up_seconds": 2.5,
    }
    return LatencyResult(**{**base, **figures})


# 10,000 updates over the measured phase at 500/s: 6 s of the platform's CPU, 0.6 ms per update; 13 s in all.
CPU_AT_500 = CpuUsage({"ingest": 1.0, "stream-processor": 2.5, "push-gateway": 1.5, "persistence": 1.0,
                       "kafka": 6.0, OTHERS: 1.0}, seconds=20.0, cores=2)

ALL_MET = SuiteFigures(
    latency_by_rate={20: _latency(20, 9.0, 31.0), 500: _latency(500, 20.0, 88.0, cpu=CPU_AT_500),
                     1_000: _latency(1_000, 40.0, 240.0, accepted=20_000, stored=20_000)},
    kafka_latency_p50_ms=2.0, kafka_latency_p99_ms=11.0, processor_updates_per_second=6_000.0,
    pipe_updates_per_second=10_000.0, gateway_us_per_message=2.1, centrifugo_us_per_message=2.6)

ALL_MISSED = SuiteFigures(
    latency_by_rate={20: _latency(20, 17.5, 60.0), 500: _latency(500, 900.0, 2_043.0, storage_lag_p99_ms=5_000.0,
                                                                cpu=CpuUsage({**CPU_AT_500.by_group, "ingest": 3.5},
                                                                             20.0, 2)),
                     1_000: _latency(1_000, 3_000.0, 6_000.0, accepted=20_000, stored=19_990)},
    kafka_latency_p50_ms=2.0, kafka_latency_p99_ms=11.0, processor_updates_per_second=3_800.0,
    pipe_updates_per_second=10_000.0, gateway_us_per_message=4.05, centrifugo_us_per_message=2.6)


def _by_target(figures: SuiteFigures) -> dict[str, tuple[str, str, str, str]]:
    return {row.target: (row.limit, row.measured, row.baseline, row.verdict) for row in evaluate_targets(figures)}


def test_one_row_per_target_in_the_issues_order() -> None:
    assert [row.target for row in evaluate_targets(ALL_MET)] == [
        "end-to-end p50 at 20/s",
        "end-to-end p99 at 20/s",
        "end-to-end p99 at 500/s",
        "end-to-end p99 at 1,000/s",
        "storage caught up after 1,000/s, each update once",
        "storage lag p99 at 500/s",
        "processor throughput / raw aiokafka pipe",
        "CPU per update of the 4 services at 500/s",
        "gateway server CPU per delivered message",
    ]


def test_every_measured_target_within_its_limit_is_met_and_latency_stands_beside_kafkas() -> None:
    rows = _by_target(ALL_MET)
    assert rows["end-to-end p50 at 20/s"] == ("<= 15 ms", "9 ms", "EndToEndLatency p50 2 ms", "met")
    assert rows["end-to-end p99 at 1,000/s"] == (
        "<= 250 ms", "240 ms", "EndToEndLatency p99 11 ms", "met")
    assert rows["storage caught up after 1,000/s, each update once"] == (
        "caught up, stored = accepted", "in 2.5 s, 20,000 of 20,000 stored", "-", "met")
    assert rows["storage lag p99 at 500/s"] == (
        "<= 2,000 ms", "<= 1,000 ms", "-", "met")
    assert rows["processor throughput / raw aiokafka pipe"] == (
        ">= 0.5", "0.60 (6,000/s)", "raw aiokafka pipe 10,000/s", "met")
    assert rows["CPU per update of the 4 services at 500/s"] == (
        "<= 0.8 ms", "0.6 ms", "-", "met")  # Kafka and the rest of the machine left out
    assert all(row.met for row in evaluate_targets(ALL_MET)[:-1])


def test_a_miss_says_by_how_much_in_the_targets_unit() -> None:
    rows = _by_target(ALL_MISSED)
    assert rows["end-to-end p50 at 20/s"][3] == "missed by 2.5 ms"
    assert rows["end-to-end p99 at 500/s"][1:] == (
        "2,043 ms", "EndToEndLatency p99 11 ms", "missed by 1,943 ms")
    assert rows["storage caught up after 1,000/s, each update once"][1:] == (
        "in 2.5 s, 19,990 of 20,000 stored", "-", "missed: 10 not stored")
    # A histogram bucket's upper bound: the true p99 is above 2 s (a bucket bound itself), by at most this.
    assert rows["storage lag p99 at 500/s"][1:] == (
        "<= 5,000 ms", "-", "missed by up to 3,000 ms")
    assert rows["processor throughput / raw aiokafka pipe"][3] == "missed by 0.12"
    assert rows["CPU per update of the 4 services at 500/s"][1:] == (
        "0.85 ms", "-", "missed by 0.05 ms")
    assert not any(row.met for row in evaluate_targets(ALL_MISSED))


def test_the_gateways_cpu_per_message_is_held_to_centrifugos_from_the_same_run() -> None:
    met, missed = (evaluate_targets(figures)[-1] for figures in (ALL_MET, ALL_MISSED))
    assert (met.limit, met.measured, met.baseline, met.verdict, met.met) == (
        "<= 2.6 us", "2.1 us", "Centrifugo as shipped 2.6 us", "met", True)
    assert (missed.measured, missed.verdict, missed.met) == ("4.05 us", "missed by 1.45 us", False)
    # Without Centrifugo's figure there is no limit to hold the gateway to.
    alone = evaluate_targets(SuiteFigures({}, gateway_us_per_message=2.1))[-1]
    assert (alone.limit, alone.verdict, alone.met) == ("<= Centrifugo's", NOT_MEASURED, None)


def test_targets_of_scenarios_not_run_are_not_measured_rather_than_failed() -> None:
    only_500 = SuiteFigures(latency_by_rate={500: _latency(500, 20.0, 88.0)})
    rows = {row.target: row for row in evaluate_targets(only_500)}
    for target in ("end-to-end p50 at 20/s", "end-to-end p99 at 1,000/s",
                   "storage caught up after 1,000/s, each update once",
                   "processor throughput / raw aiokafka pipe",
                   "CPU per update of the 4 services at 500/s"):
        assert (rows[target].measured, rows[target].verdict, rows[target].met) == ("-", NOT_MEASURED, None), target
    measured = rows["end-to-end p99 at 500/s"]
    assert (measured.baseline, measured.verdict) == ("-", "met")  # no Kafka baseline measured: none shown


def test_an_empty_histogram_or_a_cpu_account_without_every_service_is_not_a_figure() -> None:
    no_deliveries = _latency(500, math.nan, math.nan, cpu=CpuUsage({"ingest": 1.0, OTHERS: 1.0}, 20.0, 2),
                             storage_lag_p99_ms=None)
    rows = {row.target: row for row in evaluate_targets(SuiteFigures({500: no_deliveries}))}
    assert rows["end-to-end p99 at 500/s"].verdict == NOT_MEASURED
    assert rows["storage lag p99 at 500/s"].verdict == NOT_MEASURED
    assert rows["CPU per update of the 4 services at 500/s"
                ].verdict == NOT_MEASURED


def test_storage_lag_beyond_the_last_bucket_is_missed_without_an_amount() -> None:
    beyond = SuiteFigures({500: _latency(500, 20.0, 88.0, storage_lag_p99_ms=math.inf)})
    row = evaluate_targets(beyond)[5]
    assert (row.measured, row.verdict, row.met) == ("beyond the last bucket", "missed", False)


@pytest.mark.parametrize(("bound", "value", "verdict"), [
    (Bound(100.0, "ms"), 100.0, "met"),  # the limit itself is within it
    (Bound(100.0, "ms"), 100.4, "missed by 0.4 ms"),
    (Bound(0.5, "", floor=True), 0.5, "met"),
    (Bound(0.5, "", floor=True), 0.25, "missed by 0.25"),
    (Bound(0.5, "", floor=True), 0.1556, "missed by 0.34"),  # a ratio's gap at the ratio's precision
    (Bound(15.0, "ms"), 23.0, "missed by 8 ms"),
])
def test_a_bound_is_a_ceiling_or_a_floor(bound: Bound, value: float, verdict: str) -> None:
    assert bound.row("t", value).verdict == verdict


def test_the_table_aligns_its_columns_and_counts_what_was_met() -> None:
    lines = format_targets_table(evaluate_targets(ALL_MET)).splitlines()
    header, rule, first = lines[:3]
    assert header.split("  ")[0] == "target" and set(rule) == {"-", " "}
    for column in ("limit", "measured", "baseline (same run)", "verdict"):
        start = header.index(column)
        assert first[start - 2 : start] == "  " and first[start] != " ", column  # left-aligned under its header
    rows, footer = lines[2:11], lines[11:]
    assert rows[-1].endswith("met")
    assert footer[0] == "met 9 of 9 measured; 0 not measured. A missed target does not fail the run."
    assert footer[3] == ("the 4 services: ingest, stream-processor, push-gateway, persistence (CPU of Kafka, "
                         "DynamoDB Local, Redis and the load left out)")
    assert "met 0 of 9 measured" in format_targets_table(evaluate_targets(ALL_MISSED))
