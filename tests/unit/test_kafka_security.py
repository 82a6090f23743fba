"""KAFKA_SECURITY_PROTOCOL reaches every Kafka client: TLS to Amazon MSK, plaintext locally."""

from __future__ import annotations

import ssl

import pytest
from sportsfeed_common.faust_worker import broker_credentials
from sportsfeed_common.kafka_security import aiokafka_security
from sportsfeed_common.settings import CommonSettings, SettingsError, load_settings
from sportsfeed_common.topics import _durability
from sportsfeed_ingest.publisher import Publisher
from sportsfeed_persistence.app import create_app
from sportsfeed_persistence.settings import PersistenceSettings

MSK = {"KAFKA_BOOTSTRAP_SERVERS": "b-1.msk.example:9094,b-2.msk.example:9094", "KAFKA_SECURITY_PROTOCOL": "SSL"}


def test_aiokafka_clients_get_a_verifying_tls_context_only_for_ssl() -> None:
    assert aiokafka_security("PLAINTEXT") == {"security_protocol": "PLAINTEXT"}
    secured = aiokafka_security("SSL")
    assert secured["security_protocol"] == "SSL"
    assert secured["ssl_context"].verify_mode == ssl.CERT_REQUIRED and secured["ssl_context"].check_hostname


def test_faust_workers_connect_over_tls_when_asked() -> None:
    assert broker_credentials("PLAINTEXT") is None
    app = create_app(load_settings(PersistenceSettings, MSK))
    assert app.conf.broker_credentials is not None
    assert app.conf.broker_credentials.protocol.value == "SSL"


def test_ingest_trusts_the_system_store_over_tls() -> None:
    assert Publisher("b-1.msk.example:9094", "SSL", 5.0)._config["ssl.ca.location"] == "probe"
    assert "ssl.ca.location" not in Publisher("127.0.0.1:9092", "PLAINTEXT", 5.0)._config


def test_sasl_is_refused_with_the_variable_named() -> None:
    with pytest.raises(SettingsError, match="KAFKA_SECURITY_PROTOCOL"):
        load_settings(CommonSettings, {**MSK, "KAFKA_SECURITY_PROTOCOL": "SASL_SSL"})


def test_replicated_topics_need_two_in_sync_replicas_to_acknowledge() -> None:
    assert _durability(1) == {}
    assert _durability(3) == {"min.insync.replicas": "2"}
