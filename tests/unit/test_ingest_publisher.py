"""The publisher's fatal-error path, driven through the error callback librdkafka calls."""

from __future__ import annotations

import pytest
from confluent_kafka import KafkaError
from sportsfeed_common.kafka_security import KafkaSecurity
from sportsfeed_ingest.publisher import KafkaUnavailable, Publisher


async def test_a_fatal_producer_error_is_reported_once_and_the_producer_replaced() -> None:
    publisher = Publisher("127.0.0.1:1", KafkaSecurity(), timeout_seconds=0.2)  # nothing listens: never delivered
    await publisher.start()
    try:
        broken = publisher._producer
        publisher._on_error(KafkaError(KafkaError._FATAL, "idempotence state lost", fatal=True))
        with pytest.raises(KafkaUnavailable, match="idempotence state lost.*replaced"):
            await publisher.publish("odds.raw", [(b"game-1", b"{}")])
        assert publisher._producer is not broken
        # The next attempt uses the new producer: it times out (no broker), it is not the fatal error again.
        with pytest.raises(KafkaUnavailable, match="did not acknowledge"):
            await publisher.publish("odds.raw", [(b"game-1", b"{}")])
    finally:
        await publisher.stop()
