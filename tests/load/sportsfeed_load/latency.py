"""Latency histograms with precise tails.

Locust keeps response times rounded to two significant digits above 100 ms, so its
percentiles cannot tell 140 from 149 ms; HdrHistograms (3 significant digits, microsecond
units) can, and their encoded form lets a later reader merge or re-read a run.
"""

from __future__ import annotations

from hdrh.histogram import HdrHistogram

from .frames import Trace, end_to_end_ms, hops_ms

LOWEST_MICROS = 1
HIGHEST_MICROS = 3_600_000_000  # an hour: anything slower is a failure, not a latency
SIGNIFICANT_DIGITS = 3
PERCENTILES = {"p50": 50.0, "p90": 90.0, "p95": 95.0, "p99": 99.0, "p99_9": 99.9}


def new_histogram() -> HdrHistogram:
    return HdrHistogram(LOWEST_MICROS, HIGHEST_MICROS, SIGNIFICANT_DIGITS)


def _record_ms(histogram: HdrHistogram, milliseconds: float) -> None:
    # Stamps are whole milliseconds, so a hop can read a hair below 0; clamp into range.
    micros = min(max(round(milliseconds * 1000), 0), HIGHEST_MICROS)
    histogram.record_value(micros)


class LatencyRecorder:
    """End to end (ingest to this client) and per hop (ingested->processed->pushed->received)."""

    def __init__(self) -> None:
        self.end_to_end = new_histogram()
        self.hops: dict[str, HdrHistogram] = {}

    def record(self, trace: Trace | None, received_ms: float) -> float | None:
        """Record one frame; its end-to-end latency in ms, or None when it carries no ingest stamp."""
        latency = end_to_end_ms(trace, received_ms)
        if latency is None or trace is None:
            return None
        _record_ms(self.end_to_end, latency)
        for hop, milliseconds in hops_ms(trace, received_ms).items():
            histogram = self.hops.get(hop)
            if histogram is None:
                histogram = self.hops[hop] = new_histogram()
            _record_ms(histogram, milliseconds)
        return latency


def describe(histogram: HdrHistogram) -> dict[str, float | int]:
    """Count, mean and percentiles in milliseconds."""
    if histogram.get_total_count() == 0:
        return {"count": 0}
    summary: dict[str, float | int] = {"count": histogram.get_total_count(),
                                       "mean_ms": round(histogram.get_mean_value() / 1000, 3),
                                       "min_ms": histogram.get_min_value() / 1000}
    for name, percentile in PERCENTILES.items():
        summary[f"{name}_ms"] = histogram.get_value_at_percentile(percentile) / 1000
    summary["max_ms"] = histogram.get_max_value() / 1000
    return summary


def encoded(histogram: HdrHistogram) -> str:
    """The histogram in HdrHistogram's compressed base64 form (``HdrHistogram.decode`` reads it back)."""
    return histogram.encode().decode("ascii")
