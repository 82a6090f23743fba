"""Persistence's Prometheus metrics: what the worker stores and how the read API answers."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from sportsfeed_common.metrics import LATENCY_BUCKETS

from .storing import BatchReport

# Storage may trail the push by seconds under load, and catches up after: buckets up to minutes.
STORAGE_LAG_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 120, 300, 600)
BATCH_BUCKETS = (1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10_000)


class PersistenceMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.batch_messages = Histogram(
            "sportsfeed_persistence_batch_messages", "Messages taken from Kafka per stored batch",
            ["topic"], buckets=BATCH_BUCKETS, registry=self.registry)
        self.write_seconds = Histogram(
            "sportsfeed_persistence_write_seconds", "Time to write one batch to DynamoDB, retries included",
            ["topic"], buckets=LATENCY_BUCKETS, registry=self.registry)
        self.write_retries = Counter(
            "sportsfeed_persistence_write_retries_total",
            "BatchWriteItem calls repeated (unprocessed items, throttling, DynamoDB unavailable)",
            ["topic"], registry=self.registry)
        self.batch_failures = Counter(
            "sportsfeed_persistence_batch_failures_total", "Batches that failed as a whole and were retried",
            ["topic"], registry=self.registry)
        self.stored = Counter(
            "sportsfeed_persistence_stored_total", "Messages stored in DynamoDB", ["topic"], registry=self.registry)
        self.dead_lettered = Counter(
            "sportsfeed_persistence_dead_lettered_total", "Messages parked in the dead-letter topic",
            ["topic"], registry=self.registry)
        self.ingested_to_stored_seconds = Histogram(
            "sportsfeed_persistence_ingested_to_stored_seconds",
            "How far storage trails the live stream: from ingest's ingestedAt to the update's write being "
            "acknowledged by DynamoDB", buckets=STORAGE_LAG_BUCKETS, registry=self.registry)
        self.consumer_lag = Gauge(
            "sportsfeed_persistence_consumer_lag", "Messages on the partition not yet stored",
            ["topic", "partition"], registry=self.registry)
        self.requests = Counter(
            "sportsfeed_persistence_requests_total", "Read API requests by route and status",
            ["route", "status"], registry=self.registry)
        self.request_seconds = Histogram(
            "sportsfeed_persistence_request_seconds", "Read API response time by route",
            ["route"], buckets=LATENCY_BUCKETS, registry=self.registry)

    def batch_stored(self, topic: str, messages: int, report: BatchReport) -> None:
        self.batch_messages.labels(topic).observe(messages)
        if report.write.items:
            self.write_seconds.labels(topic).observe(report.write.seconds)
        self.write_retries.labels(topic).inc(report.write.retries)
        self.stored.labels(topic).inc(report.stored)
        self.dead_lettered.labels(topic).inc(report.dead_lettered)
