"""Kafka authentication on a real broker: a SCRAM-SHA-512 listener, as MSK offers SCRAM. Ingest's
producer (librdkafka), aiokafka and faust's credentials each authenticate with the settings' user,
and each is refused with a wrong password. (MSK IAM's OAUTHBEARER needs AWS; its token provider and
client settings are unit-tested in tests/unit/test_kafka_security.py.)

A broker of its own: the session's has no SASL listener.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.errors import KafkaError
from confluent_kafka.admin import AdminClient, ScramCredentialInfo, ScramMechanism, UserScramCredentialUpsertion
from faust.transport.drivers.aiokafka import credentials_to_aiokafka_auth
from sportsfeed_common.faust_worker import broker_credentials
from sportsfeed_common.kafka_security import KafkaSecurity, aiokafka_security
from sportsfeed_common.settings import CommonSettings, load_settings
from sportsfeed_common.topics import ODDS_RAW, create_topics
from sportsfeed_devstack.config import StackConfig, free_port
from sportsfeed_devstack.stack import Stack
from sportsfeed_ingest.publisher import KafkaUnavailable, Publisher

pytestmark = pytest.mark.integration

USER, PASSWORD = "sportsfeed", "scram-test-password"


@pytest.fixture(scope="module")
def scram_kafka(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StackConfig]:
    config = StackConfig(state_dir=Path(tmp_path_factory.mktemp("sasl")), cache_dir=StackConfig.from_env().cache_dir,
                         kafka_port=free_port(), kafka_controller_port=free_port(), kafka_sasl_port=free_port())
    stack = Stack(config, only=frozenset({"kafka"}))
    stack.start()
    try:
        # The user, through the plaintext listener (as an operator would with MSK's Secrets Manager link).
        admin = AdminClient({"bootstrap.servers": config.kafka_bootstrap})
        upsert = UserScramCredentialUpsertion(USER, ScramCredentialInfo(ScramMechanism.SCRAM_SHA_512, 4096),
                                              PASSWORD.encode())
        for future in admin.alter_user_scram_credentials([upsert]).values():
            future.result(timeout=30)
        yield config
    finally:
        stack.stop()


def sasl_security(config: StackConfig, password: str = PASSWORD) -> tuple[str, KafkaSecurity]:
    bootstrap = f"127.0.0.1:{config.kafka_sasl_port}"
    settings = load_settings(CommonSettings, {
        "KAFKA_BOOTSTRAP_SERVERS": bootstrap, "KAFKA_SECURITY_PROTOCOL": "SASL_PLAINTEXT",
        "KAFKA_SASL_MECHANISM": "SCRAM-SHA-512", "KAFKA_SASL_USERNAME": USER, "KAFKA_SASL_PASSWORD": password})
    return bootstrap, KafkaSecurity.of(settings)


async def test_every_client_authenticates_with_scram_and_a_wrong_password_is_refused(
        scram_kafka: StackConfig) -> None:
    await create_topics(scram_kafka.kafka_bootstrap)
    bootstrap, security = sasl_security(scram_kafka)
    game_id = f"game-{uuid.uuid4()}"

    # Ingest's producer (librdkafka) over the SASL listener: acknowledged.
    publisher = Publisher(bootstrap, security, timeout_seconds=20)
    await publisher.start()
    try:
        await publisher.publish(ODDS_RAW.name, [(game_id.encode(), b'{"by": "librdkafka"}')])
    finally:
        await publisher.stop()

    # faust's credentials, as faust hands them to aiokafka: a producer that authenticates.
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, **credentials_to_aiokafka_auth(broker_credentials(security)))
    await producer.start()
    try:
        await producer.send_and_wait(ODDS_RAW.name, b'{"by": "faust"}', key=game_id.encode())
    finally:
        await producer.stop()

    # aiokafka reads both back over the SASL listener.
    partitions = [TopicPartition(ODDS_RAW.name, number) for number in range(ODDS_RAW.partitions)]
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, **aiokafka_security(security), group_id=None,
                                enable_auto_commit=False)
    await consumer.start()
    try:
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        values: list[bytes] = []
        while len(values) < 2:
            batch = await consumer.getmany(timeout_ms=10_000)
            assert batch, f"nothing more read; got {values}"
            values += [record.value for records in batch.values() for record in records
                       if record.key == game_id.encode()]
        assert values == [b'{"by": "librdkafka"}', b'{"by": "faust"}']
    finally:
        await consumer.stop()

    # The wrong password: refused by the broker, for each client.
    _, wrong = sasl_security(scram_kafka, password="not-the-password")
    refused = Publisher(bootstrap, wrong, timeout_seconds=5)
    await refused.start()
    try:
        with pytest.raises(KafkaUnavailable):
            await refused.publish(ODDS_RAW.name, [(game_id.encode(), b"{}")])
    finally:
        await refused.stop()
    intruder = AIOKafkaProducer(bootstrap_servers=bootstrap, **aiokafka_security(wrong))
    with pytest.raises(KafkaError):
        await intruder.start()
    await intruder.stop()
