"""The project's performance targets set against what the suite measured: one row per target with
its limit, the measured figure, the baseline from the same run where there is one, and a verdict.

The targets are measured with 500 analysts watching 5 of 200 games each, the whole stack on the
machine running the suite. A missed target is reported, never a failure of the run: the figures
depend on the machine (on two cores the stack, the load and the analysts share them), while a lost
or duplicated update is a bug on any machine.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass

from .latency import LatencyResult
from .report import aligned_columns
from .workload import GAMES

NEAR_IDLE_RATE = 20.0  # updates/s
REFERENCE_PEAK_RATE = 500.0  # the reference design's peak
HIGH_RATE = 1_000.0
TARGET_RATES = (NEAR_IDLE_RATE, REFERENCE_PEAK_RATE, HIGH_RATE)

STORAGE_LAG_P99_LIMIT_MS = 2_000.0  # at the reference peak; a bound of persistence's histogram buckets
PROCESSOR_RATIO_FLOOR = 0.5  # of the raw aiokafka pipe's updates/s
PLATFORM_CPU_LIMIT_MS = 0.8  # per update, the four services together, at the reference peak
# The services an odds update goes through; Kafka, DynamoDB Local, Redis and the load are not counted.
PLATFORM_SERVICES = ("ingest", "stream-processor", "push-gateway", "persistence")

NOT_MEASURED = "not measured"


@dataclass(frozen=True)
class LatencyTarget:
    rate: float  # offered updates/s
    percentile: str  # "p50" or "p99", as LatencyResult names them
    limit_ms: float

    def measured(self, result: LatencyResult) -> float:
        return getattr(result, f"{self.percentile}_ms")


LATENCY_TARGETS = (
    LatencyTarget(NEAR_IDLE_RATE, "p50", 15.0),
    LatencyTarget(NEAR_IDLE_RATE, "p99", 50.0),
    LatencyTarget(REFERENCE_PEAK_RATE, "p99", 100.0),
    LatencyTarget(HIGH_RATE, "p99", 250.0),
)


@dataclass(frozen=True)
class SuiteFigures:
    """What the suite measured that the targets are set on; absent or None where it was not measured
    (a rate left out of ``--rates``, or a run stopped before the scenario)."""

    latency_by_rate: Mapping[float, LatencyResult]  # the scenarios without slow consumers
    kafka_latency_p50_ms: float | None = None
    kafka_latency_p99_ms: float | None = None
    processor_updates_per_second: float | None = None
    pipe_updates_per_second: float | None = None
    # Server CPU per delivered message (us): the gateway with its outbox batched (frames=batch), and
    # Centrifugo as shipped, the same analysts and frames in the same run.
    gateway_us_per_message: float | None = None
    centrifugo_us_per_message: float | None = None


@dataclass(frozen=True)
class TargetRow:
    target: str
    limit: str
    measured: str
    baseline: str
    verdict: str  # "met", "missed by ...", "not measured"
    met: bool | None  # None: not measured
    limit_value: float | None = None  # the figures behind the text, for readers of results.json
    measured_value: float | None = None
    unit: str = ""

    def to_json(self) -> dict:
        return asdict(self)


def _number(value: float) -> str:
    """Whole ms from 100 up, three digits from 10; below, two decimals (a ratio, CPU ms per update)."""
    if abs(value) >= 100:
        return f"{value:,.0f}"
    if abs(value) >= 10:
        return f"{value:.3g}"
    return f"{value:.2f}".rstrip("0").rstrip(".")


def _with_unit(value: float, unit: str) -> str:
    return f"{_number(value)} {unit}".rstrip()


@dataclass(frozen=True)
class Bound:
    """A limit a figure must stay within: at most, or at least when ``floor`` (a throughput ratio)."""

    limit: float
    unit: str  # "" for ratios
    floor: bool = False

    def __str__(self) -> str:
        return f"{'>=' if self.floor else '<='} {_with_unit(self.limit, self.unit)}"

    def met(self, value: float) -> bool:
        return value >= self.limit if self.floor else value <= self.limit

    def row(self, target: str, value: float | None, baseline: str = "-", shown: str | None = None,
            upper_bound: bool = False) -> TargetRow:
        """The row of a figure; ``shown`` replaces its plain text, and ``upper_bound`` says the figure
        is a histogram bucket's bound, so a miss is by at most the gap."""
        if value is None or math.isnan(value):
            return TargetRow(target, str(self), "-", baseline, NOT_MEASURED, None, self.limit, None, self.unit)
        met = self.met(value)
        if met:
            verdict = "met"
        elif math.isinf(value):
            verdict = "missed"
        else:
            verdict = f"missed by {'up to ' if upper_bound else ''}{_with_unit(abs(value - self.limit), self.unit)}"
        return TargetRow(target, str(self), shown or _with_unit(value, self.unit), baseline, verdict, met,
                         self.limit, value, self.unit)


def _rate(rate: float) -> str:
    return f"{rate:,.0f}/s"


def latency_rows(figures: SuiteFigures) -> list[TargetRow]:
    """End-to-end p50/p99 at each target load, beside Kafka's EndToEndLatency at the same percentile."""
    kafka = {"p50": figures.kafka_latency_p50_ms, "p99": figures.kafka_latency_p99_ms}
    rows = []
    for target in LATENCY_TARGETS:
        result = figures.latency_by_rate.get(target.rate)
        baseline = kafka[target.percentile]
        rows.append(Bound(target.limit_ms, "ms").row(
            f"end-to-end {target.percentile} at {_rate(target.rate)}",
            None if result is None else target.measured(result),
            "-" if baseline is None else f"EndToEndLatency {target.percentile} {_with_unit(baseline, 'ms')}"))
    return rows


def storage_catch_up_row(result: LatencyResult | None) -> TargetRow:
    """After the load at the high rate stops, storage catches up, every accepted update stored once
    (one item per update: a second write of it would replace the first, not add one)."""
    target = f"storage caught up after {_rate(HIGH_RATE)}, each update once"
    limit = "caught up, stored = accepted"
    if result is None or result.storage_caught_up_seconds is None:
        return TargetRow(target, limit, "-", "-", NOT_MEASURED, None)
    measured = (f"in {result.storage_caught_up_seconds:.1f} s, {result.stored:,} of {result.accepted:,} "
                "stored")
    missing = result.accepted - result.stored
    return TargetRow(target, limit, measured, "-", "met" if not missing else f"missed: {missing:,} not stored",
                     not missing, measured_value=result.storage_caught_up_seconds, unit="s")


def storage_lag_row(result: LatencyResult | None) -> TargetRow:
    lag = None if result is None else result.storage_lag_p99_ms
    shown = None if lag is None else ("beyond the last bucket" if math.isinf(lag) else f"<= {_with_unit(lag, 'ms')}")
    return Bound(STORAGE_LAG_P99_LIMIT_MS, "ms").row(
        f"storage lag p99 at {_rate(REFERENCE_PEAK_RATE)}", lag, shown=shown,
        upper_bound=True)


def processor_row(figures: SuiteFigures) -> TargetRow:
    processor, pipe = figures.processor_updates_per_second, figures.pipe_updates_per_second
    ratio = processor / pipe if processor is not None and pipe else None
    return Bound(PROCESSOR_RATIO_FLOOR, "", floor=True).row(
        "processor throughput / raw aiokafka pipe", ratio,
        "-" if not pipe else f"raw aiokafka pipe {_rate(pipe)}",
        shown=None if ratio is None else f"{ratio:.2f} ({_rate(processor or 0.0)})")


def platform_cpu_ms_per_update(result: LatencyResult) -> float | None:
    """CPU ms per update the platform's own services spent together over the measured phase; None
    without a CPU account of every one of them."""
    if result.cpu is None or not set(PLATFORM_SERVICES) <= result.cpu.by_group.keys():
        return None
    return result.cpu.ms_per_update(result.measured_updates, *PLATFORM_SERVICES)


def platform_cpu_row(result: LatencyResult | None) -> TargetRow:
    return Bound(PLATFORM_CPU_LIMIT_MS, "ms").row(
        f"CPU per update of the {len(PLATFORM_SERVICES)} services at {_rate(REFERENCE_PEAK_RATE)}",
        None if result is None else platform_cpu_ms_per_update(result))


def gateway_cpu_row(figures: SuiteFigures) -> TargetRow:
    """The gateway's server CPU per delivered message at or below Centrifugo's, both measured in this run."""
    target = "gateway server CPU per delivered message"
    centrifugo, gateway = figures.centrifugo_us_per_message, figures.gateway_us_per_message
    if centrifugo is None:
        return TargetRow(target, "<= Centrifugo's", "-", "-", NOT_MEASURED, None, unit="us")
    return Bound(centrifugo, "us").row(target, gateway, f"Centrifugo as shipped {_with_unit(centrifugo, 'us')}")


def evaluate_targets(figures: SuiteFigures) -> list[TargetRow]:
    """Every target, in the order of the issue's list."""
    at = figures.latency_by_rate.get
    return [*latency_rows(figures), storage_catch_up_row(at(HIGH_RATE)), storage_lag_row(at(REFERENCE_PEAK_RATE)),
            processor_row(figures), platform_cpu_row(at(REFERENCE_PEAK_RATE)),
            gateway_cpu_row(figures)]


TARGET_HEADERS = ("target", "limit", "measured", "baseline (same run)", "verdict")
TARGET_FOOTNOTES = (
    "end-to-end: ingest's ingestedAt to an analyst's WebSocket; baseline: Kafka's EndToEndLatency tool",
    "storage lag: ingested -> in DynamoDB, beside the push; the upper bound of persistence's histogram bucket",
    f"the {len(PLATFORM_SERVICES)} services: {', '.join(PLATFORM_SERVICES)} (CPU of Kafka, DynamoDB Local, Redis "
    "and the load left out)",
    "gateway CPU per message: the server process's CPU over a burst / the frames delivered, the gateway with "
    "frames=batch, beside Centrifugo v6 as shipped (up to 16 messages per frame), the same analysts and frames",
)


def format_targets_table(rows: list[TargetRow]) -> str:
    """The targets table, and how many were met of those measured."""
    lines = aligned_columns(TARGET_HEADERS, [(row.target, row.limit, row.measured, row.baseline, row.verdict)
                                             for row in rows], left_aligned=TARGET_HEADERS)
    measured = [row for row in rows if row.met is not None]
    lines.append(f"met {sum(1 for row in measured if row.met)} of {len(measured)} measured; "
                 f"{len(rows) - len(measured)} not measured. A missed target does not fail the run.")
    lines.extend(TARGET_FOOTNOTES)
    return "\n".join(lines)


def print_targets_table(rows: list[TargetRow], analysts: int, games_per_analyst: int) -> None:
    print(f"\nTargets ({analysts:,} analysts watching {games_per_analyst} of {GAMES} games each, the whole stack "
          "on this machine)")
    print(format_targets_table(rows), flush=True)
