"""What the benchmarks read from a service's ``/metrics``: samples told apart by labels, differences
between two scrapes, and a quantile from a histogram's buckets."""

from __future__ import annotations

import math

from prometheus_client import generate_latest
from sportsfeed_bench.latency import STORAGE_LAG, storage_lag_ms
from sportsfeed_bench.service_metrics import bucket_quantile, parse, persistence_summary
from sportsfeed_common.topics import ODDS_LIVE
from sportsfeed_persistence.metrics import PersistenceMetrics
from sportsfeed_persistence.storing import BatchReport


def test_a_quantile_is_the_upper_bound_of_the_bucket_it_falls_in() -> None:
    buckets = [(0.1, 10.0), (0.5, 90.0), (1.0, 99.0), (2.0, 100.0), (math.inf, 100.0)]
    assert bucket_quantile(buckets, 0.1) == 0.1  # the tenth of 100 is in the first bucket
    assert bucket_quantile(buckets, 0.5) == 0.5
    assert bucket_quantile(buckets, 0.9) == 0.5
    assert bucket_quantile(buckets, 0.99) == 1.0
    assert bucket_quantile(buckets, 0.999) == 2.0


def test_a_quantile_past_the_last_finite_bound_is_infinite_and_none_without_observations() -> None:
    assert bucket_quantile([(1.0, 1.0), (math.inf, 10.0)], 0.5) == math.inf
    assert bucket_quantile([(1.0, 0.0), (math.inf, 0.0)], 0.5) is None
    assert bucket_quantile([], 0.5) is None


def test_the_storage_lag_counts_only_what_was_stored_between_the_two_scrapes() -> None:
    metrics = PersistenceMetrics()  # the worker's own histogram, exposed as the worker exposes it
    for seconds in [30.0] * 50:  # before the measured phase: slow, and not to be counted
        metrics.ingested_to_stored_seconds.observe(seconds)
    before = parse(generate_latest(metrics.registry).decode())
    for seconds in [0.02] * 60 + [0.3] * 39 + [1.5]:
        metrics.ingested_to_stored_seconds.observe(seconds)
    during = parse(generate_latest(metrics.registry).decode()) - before
    assert during.buckets(STORAGE_LAG)[-1] == (math.inf, 100.0)
    assert storage_lag_ms(during, 0.5) == 25.0  # the bucket of 0.02 s ends at 25 ms
    assert storage_lag_ms(during, 0.99) == 500.0
    assert storage_lag_ms(during - during, 0.5) is None  # nothing stored


def test_the_persistence_summary_reads_the_batches_of_odds_live() -> None:
    metrics = PersistenceMetrics()
    before = parse(generate_latest(metrics.registry).decode())
    report = BatchReport()
    report.write.items, report.write.seconds = 500, 0.25
    for _ in range(4):
        metrics.batch_stored(ODDS_LIVE.name, 500, report)
    metrics.batch_stored("games", 3, report)  # not odds: left out
    delta = parse(generate_latest(metrics.registry).decode()) - before
    assert persistence_summary(delta, seconds=2.0) == (
        "persistence: 4 batches of 500 on average, 250 ms writing each; writing 50% of the time")
