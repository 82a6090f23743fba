"""The benchmark suite's results: one record per scenario, the summary table, the JSON file and
the plot of latency against load.

Counts are of distinct updates, stage by stage: ``sent`` by the load generator, ``accepted`` by
ingest, ``stored`` in DynamoDB, ``delivered`` to every analyst subscribed to them. An update
refused by ingest is not lost (its provider was told); one accepted and missing from the last
stage a scenario measures is (a scenario that starts past ingest, producing straight to Kafka,
counts from what it sent). Copies beyond the first are counted apart, as ``duplicates``.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass, fields
from pathlib import Path

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from .report import aligned_columns
from .targets import LATENCY_TARGETS, LatencyTarget, TargetRow

COMPARED_FIGURES = ("throughput", "latency_p99_ms")

PLOT_SIZE_INCHES = (10.0, 6.0)
PLOT_DPI = 100  # 1000 x 600 pixels


@dataclass(frozen=True)
class ScenarioResult:
    scenario: str
    offered_rate: float | None = None  # updates/s the load aimed at; None: as fast as it could
    sent: int | None = None  # None: a stage the scenario does not go through or measure
    accepted: int | None = None
    stored: int | None = None
    delivered: int | None = None
    duplicates: int = 0
    latency_p50_ms: float | None = None
    latency_p95_ms: float | None = None
    latency_p99_ms: float | None = None
    # Ingest to stored in DynamoDB, beside the push: upper bounds of persistence's histogram buckets.
    storage_lag_p50_ms: float | None = None
    storage_lag_p99_ms: float | None = None
    storage_caught_up_seconds: float | None = None  # after the load stopped, until every update was stored
    throughput: float | None = None  # per second, in throughput_unit
    throughput_unit: str = "updates/s"
    baseline_name: str | None = None
    baseline_figure: float | None = None  # the baseline's value of the compared figure
    compared: str = "throughput"  # which figure of this scenario the baseline is set against
    note: str | None = None  # printed under the table: what a column means for this scenario

    def __post_init__(self) -> None:
        if self.compared not in COMPARED_FIGURES:
            raise ValueError(f"{self.scenario}: compared must be one of {COMPARED_FIGURES}, not {self.compared!r}")
        # Each stage sees only updates the one before it let through: more downstream is a counting bug.
        counts = [(name, count) for name, count in self._stages() if count is not None]
        for (earlier, before), (later, after) in zip(counts, counts[1:], strict=False):
            if after > before:
                raise ValueError(f"{self.scenario}: {later} ({after:,}) exceeds {earlier} ({before:,})")

    def _stages(self) -> list[tuple[str, int | None]]:
        return [("sent", self.sent), ("accepted", self.accepted), ("stored", self.stored),
                ("delivered", self.delivered)]

    @property
    def lost(self) -> int | None:
        """Accepted updates missing from the last stage measured; ``None`` when none after ingest is."""
        # Scenarios that start past ingest (a producer straight to Kafka) count from what they sent.
        first = self.sent if self.accepted is None else self.accepted
        downstream = self.delivered if self.delivered is not None else self.stored
        if first is None or downstream is None:
            return None
        return first - downstream

    @property
    def figure(self) -> float | None:
        return getattr(self, self.compared)

    @property
    def figure_unit(self) -> str:
        return self.throughput_unit if self.compared == "throughput" else "ms p99"

    @property
    def ratio(self) -> float | None:
        """The compared figure over the baseline's: above 1 is better for throughput, worse for latency."""
        if self.figure is None or not self.baseline_figure:
            return None
        return self.figure / self.baseline_figure

    def to_json(self) -> dict:
        return {**asdict(self), "lost": self.lost, "figure_unit": self.figure_unit, "ratio": self.ratio}

    @classmethod
    def from_json(cls, data: dict) -> ScenarioResult:
        """The inverse of ``to_json``: derived keys (lost, ratio...) are recomputed, not read."""
        return cls(**{field.name: data[field.name] for field in fields(cls) if field.name in data})


@dataclass(frozen=True)
class LatencyPoint:
    offered_rate: float  # updates/s
    p50_ms: float
    p95_ms: float
    p99_ms: float


def write_json(path: Path, results: Sequence[ScenarioResult], machine: dict,
               targets: Sequence[TargetRow] = ()) -> None:
    path.write_text(json.dumps({"machine": machine, "scenarios": [r.to_json() for r in results],
                                "targets": [row.to_json() for row in targets]}, indent=2) + "\n")


def read_json(path: Path) -> tuple[dict, list[ScenarioResult]]:
    data = json.loads(path.read_text())
    return data["machine"], [ScenarioResult.from_json(scenario) for scenario in data["scenarios"]]


def _count(value: int | None) -> str:
    return "-" if value is None else f"{value:,}"


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"


def _figure(value: float | None, unit: str) -> str:
    if value is None:
        return "-"
    # Rates are in the thousands; latencies need their decimal.
    return f"{value:,.0f} {unit}" if unit.endswith("/s") else f"{value:,.1f} {unit}"


HEADERS = ("scenario", "offered/s", "sent", "accepted", "stored", "delivered", "lost", "duplicates",
           "p50 ms", "p95 ms", "p99 ms", "storage p50 ms", "storage p99 ms", "measured", "baseline", "ratio",
           "baseline measured by")
LEFT_ALIGNED = {"scenario", "baseline measured by"}


def _row(result: ScenarioResult) -> tuple[str, ...]:
    return (
        result.scenario,
        "-" if result.offered_rate is None else f"{result.offered_rate:,.0f}",
        _count(result.sent), _count(result.accepted), _count(result.stored), _count(result.delivered),
        _count(result.lost), f"{result.duplicates:,}",
        _ms(result.latency_p50_ms), _ms(result.latency_p95_ms), _ms(result.latency_p99_ms),
        _ms(result.storage_lag_p50_ms), _ms(result.storage_lag_p99_ms),
        _figure(result.figure, result.figure_unit),
        _figure(result.baseline_figure, result.figure_unit),
        "-" if result.ratio is None else f"{result.ratio:.2f}",
        result.baseline_name or "-",
    )


def format_summary_table(results: Sequence[ScenarioResult]) -> str:
    """One line per scenario, every column aligned, the measured figure beside its baseline."""
    lines = aligned_columns(HEADERS, [_row(result) for result in results], LEFT_ALIGNED)
    lossy = [f"{result.scenario} {result.lost:,}" for result in results if result.lost]
    duplicated = [f"{result.scenario} {result.duplicates:,}" for result in results if result.duplicates]
    unaccounted = [result.scenario for result in results if result.lost is None]
    lines.append("lost: " + (", ".join(lossy) if lossy else "0 in every scenario that counts them"))
    lines.append("duplicates: " + (", ".join(duplicated) if duplicated else "0 in every scenario"))
    if unaccounted:
        lines.append(f"not counted past ingest: {', '.join(unaccounted)}")
    lines.extend(_storage_footer(results))
    lines.extend(f"{result.scenario}: {result.note}" for result in results if result.note)
    return "\n".join(lines)


def _storage_footer(results: Sequence[ScenarioResult]) -> list[str]:
    """What the storage columns mean, and how long storage took to catch up, where measured."""
    if all(result.storage_lag_p99_ms is None for result in results):
        return []
    caught_up = [f"{result.scenario} {result.storage_caught_up_seconds:.1f} s" for result in results
                 if result.storage_caught_up_seconds is not None]
    return ["storage p50/p99 ms: ingest to stored in DynamoDB, beside the push; upper bounds of persistence's "
            "histogram buckets"] + (["storage caught up after the load stopped: " + ", ".join(caught_up)]
                                    if caught_up else [])


def print_summary_table(results: Sequence[ScenarioResult]) -> None:
    print()
    print(format_summary_table(results), flush=True)


def plot_latency_against_load(
    path: Path, points: Sequence[LatencyPoint], targets: Sequence[LatencyTarget] = LATENCY_TARGETS,
) -> None:
    """A PNG of p50/p95/p99 against offered updates/s, each target a dash at its load in its
    percentile's colour."""
    ordered = sorted(points, key=lambda point: point.offered_rate)
    loads = [point.offered_rate for point in ordered]
    # Drawn without pyplot: no global figure state and no display, whatever the machine has.
    figure = Figure(figsize=PLOT_SIZE_INCHES, dpi=PLOT_DPI, layout="constrained")
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    colours = {}
    for label, marker in (("p50", "o"), ("p95", "s"), ("p99", "^")):
        (line,) = axes.plot(loads, [getattr(point, f"{label}_ms") for point in ordered], marker=marker, label=label)
        colours[label] = line.get_color()
    for percentile in sorted({target.percentile for target in targets}):
        mine = [target for target in targets if target.percentile == percentile]
        axes.plot([target.rate for target in mine], [target.limit_ms for target in mine], linestyle="none",
                  marker="_", markersize=28, markeredgewidth=2.5, color=colours.get(percentile, "firebrick"),
                  label=f"{percentile} target")
        for target in mine:
            axes.annotate(f"{percentile} <= {target.limit_ms:g} ms", (target.rate, target.limit_ms),
                          textcoords="offset points", xytext=(-8, 4), fontsize=8)
    # Targets run from 15 ms to 250 ms while a saturated machine's p99 reaches seconds: on a
    # logarithmic scale both stay readable.
    axes.set_yscale("log")
    right = max([*loads, *(target.rate for target in targets), 1.0]) * 1.15
    axes.set_xlim(left=-0.03 * right, right=right)  # room for the dash at the lowest load
    axes.set_xlabel("offered load (odds updates/s)")
    axes.set_ylabel("end-to-end latency (ms, log scale)")
    axes.set_title("End-to-end latency against offered load")
    axes.grid(True, which="both", alpha=0.3)
    axes.legend(loc="best")
    figure.savefig(path, format="png")
