"""Ingest's Prometheus metrics."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram
from sportsfeed_common.metrics import LATENCY_BUCKETS


class IngestMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "ingest_requests", "HTTP requests answered, by route and status", ["route", "status"],
            registry=self.registry,
        )
        self.updates_accepted = Counter(
            "ingest_updates_accepted", "Updates and games acknowledged by Kafka", ["provider", "topic"],
            registry=self.registry,
        )
        self.items_refused = Counter(
            "ingest_items_refused", "Items refused by validation", ["provider"], registry=self.registry,
        )
        self.produce_seconds = Histogram(
            "ingest_produce_seconds", "Time from producing a batch to Kafka acknowledging all of it",
            buckets=LATENCY_BUCKETS, registry=self.registry,
        )
        self.rate_limit_unchecked = Counter(
            "ingest_rate_limit_unchecked", "Requests let through because the rate limiter was unavailable",
            registry=self.registry,
        )
