"""Settings are read from a mapping of environment variables; every refusal names the variable."""

from __future__ import annotations

import pytest
from sportsfeed_common.settings import (
    CommonSettings,
    Port,
    Secret,
    SettingsError,
    load_settings,
)

BASE = {"KAFKA_BOOTSTRAP_SERVERS": "127.0.0.1:9092"}


class GatewaySettings(CommonSettings, kw_only=True):
    port: Port = 8080
    jwt_secret: Secret | None = None
    auth_enabled: bool = False


def test_defaults_follow_the_design() -> None:
    settings = load_settings(GatewaySettings, BASE)
    assert settings.kafka_bootstrap_servers == "127.0.0.1:9092"
    assert settings.dynamodb_table == "sportsfeeds"
    assert settings.dynamodb_endpoint is None
    assert settings.port == 8080


def test_values_are_converted_from_strings() -> None:
    settings = load_settings(GatewaySettings, {**BASE, "PORT": "9000", "AUTH_ENABLED": "true"})
    assert settings.port == 9000
    assert settings.auth_enabled is True


@pytest.mark.parametrize(
    ("environ", "variable", "reason"),
    [
        ({}, "KAFKA_BOOTSTRAP_SERVERS", "not set"),
        ({"KAFKA_BOOTSTRAP_SERVERS": ""}, "KAFKA_BOOTSTRAP_SERVERS", "not set"),
        ({"KAFKA_BOOTSTRAP_SERVERS": "localhost"}, "KAFKA_BOOTSTRAP_SERVERS", "host:port"),
        ({**BASE, "PORT": "eighty"}, "PORT", "Expected `int`"),
        ({**BASE, "PORT": "70000"}, "PORT", "<= 65535"),
        ({**BASE, "AUTH_ENABLED": "maybe"}, "AUTH_ENABLED", "bool"),
        ({**BASE, "LOG_LEVEL": "LOUD"}, "LOG_LEVEL", "Invalid enum value"),
        ({**BASE, "KAFKA_SECURITY_PROTOCOL": "TLS"}, "KAFKA_SECURITY_PROTOCOL", "Invalid enum value"),
        ({**BASE, "REDIS_URL": "localhost:6379"}, "REDIS_URL", "redis://"),
        ({**BASE, "DYNAMODB_ENDPOINT": "localhost:8000"}, "DYNAMODB_ENDPOINT", "http"),
        ({**BASE, "DYNAMODB_TABLE": "a b"}, "DYNAMODB_TABLE", "regex"),
    ],
)
def test_bad_values_are_refused_naming_the_variable(
    environ: dict[str, str], variable: str, reason: str
) -> None:
    with pytest.raises(SettingsError) as refused:
        load_settings(GatewaySettings, environ)
    message = str(refused.value)
    assert message.startswith(f"{variable}: "), message
    assert reason in message


def test_secrets_never_show_themselves() -> None:
    settings = load_settings(GatewaySettings, {**BASE, "JWT_SECRET": "hunter2-very-secret"})
    assert settings.jwt_secret is not None
    assert settings.jwt_secret.reveal() == "hunter2-very-secret"
    assert "hunter2" not in repr(settings)
    assert "hunter2" not in str(settings.jwt_secret)


def test_a_refused_value_is_not_echoed_for_secrets() -> None:
    with pytest.raises(SettingsError) as refused:
        load_settings(GatewaySettings, {**BASE, "JWT_SECRET": "", "PORT": "x"})
    assert "PORT" in str(refused.value)


def test_settings_are_read_once_into_an_immutable_object() -> None:
    settings = load_settings(GatewaySettings, BASE)
    with pytest.raises(AttributeError):
        settings.port = 1  # type: ignore[misc]
