"""The stream processor's Prometheus metrics."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from sportsfeed_common.metrics import LATENCY_BUCKETS


class ProcessorMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.processed = Counter(
            "sportsfeed_processor_updates_total",
            "Accepted updates handled, by outcome: live (sequenced and published), not_new (a replay, a retry "
            "or a price older than one already live: passed on unsequenced, for storage only), parked "
            "(undecodable, sent to the dead-letter topic)",
            ["outcome"], registry=self.registry)
        self.batch_messages = Histogram(
            "sportsfeed_processor_batch_messages", "Accepted updates taken from Kafka per processed batch",
            buckets=(1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10_000), registry=self.registry)
        self.alerts = Counter(
            "sportsfeed_processor_alerts_total", "Alerts published, by kind", ["kind"], registry=self.registry)
        self.ingested_to_live_seconds = Histogram(
            "sportsfeed_processor_ingested_to_live_seconds",
            "From ingest's ingestedAt to the LiveUpdate being acknowledged by Kafka", buckets=LATENCY_BUCKETS,
            registry=self.registry)
        self.series_items_written = Counter(
            "sportsfeed_processor_series_items_written_total", "Candle and count items written to DynamoDB",
            registry=self.registry)
        self.expired_unprocessed = Counter(
            "sportsfeed_processor_expired_unprocessed_total",
            "Accepted updates deleted by Kafka retention before this service processed them (never sequenced)",
            registry=self.registry)
        self.consumer_lag = Gauge(
            "sportsfeed_processor_consumer_lag", "Messages on the partition not yet processed",
            ["topic", "partition"], registry=self.registry)
