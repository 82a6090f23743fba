"""The push gateway's Prometheus metrics."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from sportsfeed_common.metrics import LATENCY_BUCKETS


class GatewayMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.connections = Gauge(
            "sportsfeed_gateway_connections", "Open WebSocket connections on this replica", registry=self.registry)
        self.connects = Counter(
            "sportsfeed_gateway_connects_total", "WebSocket connections opened", registry=self.registry)
        self.refused = Counter(
            "sportsfeed_gateway_refused_total", "WebSocket upgrades refused, by reason", ["reason"],
            registry=self.registry)
        self.frames_queued = Counter(
            "sportsfeed_gateway_frames_total", "Frames queued to sockets, by type", ["type"], registry=self.registry)
        self.conflated = Counter(
            "sportsfeed_gateway_conflated_total", "Price updates merged into a waiting frame for a slow client",
            registry=self.registry)
        self.slow_closes = Counter(
            "sportsfeed_gateway_slow_closes_total", "Sockets closed because their queue passed the hard limit",
            registry=self.registry)
        self.client_errors = Counter(
            "sportsfeed_gateway_client_errors_total", "Error frames sent to clients, by code", ["code"],
            registry=self.registry)
        self.records = Counter(
            "sportsfeed_gateway_records_total", "Kafka records read, by topic and outcome", ["topic", "outcome"],
            registry=self.registry)
        self.end_to_end_seconds = Histogram(
            "sportsfeed_gateway_end_to_end_seconds",
            "From ingest's ingestedAt to the gateway pushing the update (trace stamps)",
            buckets=LATENCY_BUCKETS, registry=self.registry)
        self.registry_errors = Counter(
            "sportsfeed_gateway_registry_errors_total", "Redis registry operations that failed (retried later)",
            registry=self.registry)
