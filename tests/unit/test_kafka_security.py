"""The Kafka security settings reach every Kafka client: TLS, and SASL as MSK offers it (IAM or
SCRAM), for aiokafka, faust and librdkafka alike; incomplete settings are refused at start."""

from __future__ import annotations

import asyncio
import ssl

import pytest
from sportsfeed_common.faust_worker import broker_credentials
from sportsfeed_common.kafka_security import (
    AiokafkaMskIamTokens,
    KafkaSecurity,
    MskIamToken,
    aiokafka_security,
    librdkafka_security,
)
from sportsfeed_common.settings import CommonSettings, Secret, SettingsError, load_settings
from sportsfeed_common.topics import _durability
from sportsfeed_ingest.publisher import Publisher
from sportsfeed_persistence.app import create_app
from sportsfeed_persistence.settings import PersistenceSettings

MSK = {"KAFKA_BOOTSTRAP_SERVERS": "b-1.msk.example:9094,b-2.msk.example:9094", "KAFKA_SECURITY_PROTOCOL": "SSL"}
MSK_IAM = {**MSK, "KAFKA_SECURITY_PROTOCOL": "SASL_SSL", "KAFKA_SASL_MECHANISM": "OAUTHBEARER",
           "AWS_REGION": "eu-west-2"}
MSK_SCRAM = {**MSK, "KAFKA_SECURITY_PROTOCOL": "SASL_SSL", "KAFKA_SASL_MECHANISM": "SCRAM-SHA-512",
             "KAFKA_SASL_USERNAME": "sportsfeed", "KAFKA_SASL_PASSWORD": "s3cret"}


def security(environ: dict[str, str]) -> KafkaSecurity:
    return KafkaSecurity.of(load_settings(CommonSettings, environ))


def test_aiokafka_clients_get_a_verifying_tls_context_only_for_tls() -> None:
    assert aiokafka_security(KafkaSecurity()) == {"security_protocol": "PLAINTEXT"}
    secured = aiokafka_security(security(MSK))
    assert secured["security_protocol"] == "SSL"
    assert secured["ssl_context"].verify_mode == ssl.CERT_REQUIRED and secured["ssl_context"].check_hostname


def test_scram_gives_every_client_the_user_and_password_over_tls() -> None:
    scram = security(MSK_SCRAM)
    options = aiokafka_security(scram)
    assert (options["security_protocol"], options["sasl_mechanism"]) == ("SASL_SSL", "SCRAM-SHA-512")
    assert (options["sasl_plain_username"], options["sasl_plain_password"]) == ("sportsfeed", "s3cret")
    assert options["ssl_context"].verify_mode == ssl.CERT_REQUIRED
    config = librdkafka_security(scram)
    assert config == {"security.protocol": "sasl_ssl", "ssl.ca.location": "probe", "sasl.mechanisms": "SCRAM-SHA-512",
                      "sasl.username": "sportsfeed", "sasl.password": "s3cret"}
    credentials = broker_credentials(scram)
    assert (credentials.protocol.value, credentials.mechanism.value) == ("SASL_SSL", "SCRAM-SHA-512")
    assert (credentials.username, credentials.password) == ("sportsfeed", "s3cret")


def test_msk_iam_signs_tokens_for_the_region_and_reuses_them_until_near_expiry() -> None:
    now_ms = 1_800_000_000_000
    signed: list[str] = []

    def signer(region: str) -> tuple[str, int]:
        signed.append(region)
        return f"token-{len(signed)}", now_ms + 15 * 60_000

    tokens = MskIamToken("eu-west-2", signer)
    assert tokens.current()[0] == tokens.current()[0] == "token-1" and signed == ["eu-west-2"]
    tokens._expires_at = 0  # as if it had expired
    assert tokens.current()[0] == "token-2"
    assert asyncio.run(AiokafkaMskIamTokens(tokens).token()) == "token-2"


def test_msk_iam_reaches_every_client_as_oauthbearer_over_tls() -> None:
    iam = security(MSK_IAM)
    options = aiokafka_security(iam)
    assert (options["security_protocol"], options["sasl_mechanism"]) == ("SASL_SSL", "OAUTHBEARER")
    assert isinstance(options["sasl_oauth_token_provider"], AiokafkaMskIamTokens)
    assert "sasl_plain_password" not in options
    config = librdkafka_security(iam)
    assert (config["security.protocol"], config["sasl.mechanisms"]) == ("sasl_ssl", "OAUTHBEARER")
    assert callable(config["oauth_cb"])
    credentials = broker_credentials(iam)
    assert (credentials.protocol.value, credentials.mechanism.value) == ("SASL_SSL", "OAUTHBEARER")


def test_faust_workers_connect_over_tls_when_asked() -> None:
    assert broker_credentials(KafkaSecurity()) is None
    app = create_app(load_settings(PersistenceSettings, MSK))
    assert app.conf.broker_credentials is not None
    assert app.conf.broker_credentials.protocol.value == "SSL"
    app = create_app(load_settings(PersistenceSettings, MSK_SCRAM))
    assert app.conf.broker_credentials.mechanism.value == "SCRAM-SHA-512"


def test_ingest_trusts_the_system_store_over_tls() -> None:
    assert Publisher("b-1.msk.example:9094", security(MSK), 5.0)._config["ssl.ca.location"] == "probe"
    assert "ssl.ca.location" not in Publisher("127.0.0.1:9092", KafkaSecurity(), 5.0)._config
    assert Publisher("b-1.msk.example:9096", security(MSK_SCRAM), 5.0)._config["sasl.username"] == "sportsfeed"


@pytest.mark.parametrize(("environ", "message"), [
    ({**MSK, "KAFKA_SECURITY_PROTOCOL": "SASL_SSL"}, "KAFKA_SASL_MECHANISM: required with"),
    ({**MSK, "KAFKA_SASL_MECHANISM": "SCRAM-SHA-512"}, "need KAFKA_SECURITY_PROTOCOL=SASL_SSL"),
    ({**MSK, "KAFKA_SASL_USERNAME": "sportsfeed"}, "need KAFKA_SECURITY_PROTOCOL=SASL_SSL"),
    ({**MSK_SCRAM, "KAFKA_SASL_PASSWORD": ""}, "SCRAM-SHA-512 needs both"),
    ({**MSK_IAM, "KAFKA_SASL_USERNAME": "sportsfeed"}, "OAUTHBEARER .MSK IAM. signs with"),
    ({**MSK_IAM, "KAFKA_SECURITY_PROTOCOL": "SASL_PLAINTEXT"}, "offered over TLS only"),
    ({**MSK, "KAFKA_SECURITY_PROTOCOL": "KERBEROS"}, "KAFKA_SECURITY_PROTOCOL"),
    ({**MSK_SCRAM, "KAFKA_SASL_MECHANISM": "PLAIN"}, "KAFKA_SASL_MECHANISM"),
])
def test_incomplete_or_contradictory_kafka_auth_is_refused_naming_the_setting(environ: dict[str, str],
                                                                               message: str) -> None:
    with pytest.raises(SettingsError, match=message):
        load_settings(CommonSettings, environ)


def test_the_scram_password_never_shows() -> None:
    settings = load_settings(CommonSettings, MSK_SCRAM)
    assert isinstance(settings.kafka_sasl_password, Secret) and "s3cret" not in repr(settings)


def test_replicated_topics_need_two_in_sync_replicas_to_acknowledge() -> None:
    assert _durability(1) == {}
    assert _durability(3) == {"min.insync.replicas": "2"}
