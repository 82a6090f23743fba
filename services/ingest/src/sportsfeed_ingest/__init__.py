"""sportsfeed ingest: the provider HTTP API. What it acknowledges is in Kafka; what it refuses, it says why."""
