"""Typed settings read once from environment variables.

Each service declares one ``msgspec.Struct`` subclass of :class:`CommonSettings`.
Field ``kafka_bootstrap_servers`` is read from ``KAFKA_BOOTSTRAP_SERVERS``: the
struct renames fields to upper case, so msgspec's own validation errors already
name the environment variable. Tests pass a plain mapping instead of touching
``os.environ``.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from typing import Annotated, Any, Literal, TypeVar

import msgspec


class Secret:
    """A string that never shows itself in logs, reprs or error messages."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('**********')"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)


class SettingsError(ValueError):
    """Start-up configuration is missing or invalid; the message names the variable."""


NonEmptyStr = Annotated[str, msgspec.Meta(min_length=1)]
Port = Annotated[int, msgspec.Meta(ge=1, le=65535)]
LogLevel = Literal["DEBUG", "INFO", "WARNING", "ERROR"]


class CommonSettings(msgspec.Struct, rename="upper", frozen=True, kw_only=True):
    """Settings every service shares; DESIGN.md fixes these names."""

    kafka_bootstrap_servers: NonEmptyStr
    # PLAINTEXT; SSL (TLS); SASL_SSL (TLS and SASL: MSK with IAM or SCRAM); SASL_PLAINTEXT (SASL without
    # TLS, a self-managed broker only). See kafka_security.py.
    kafka_security_protocol: Literal["PLAINTEXT", "SSL", "SASL_SSL", "SASL_PLAINTEXT"] = "PLAINTEXT"
    # With SASL: OAUTHBEARER (MSK IAM: tokens signed with the pod's AWS credentials) or SCRAM-SHA-512.
    kafka_sasl_mechanism: Literal["OAUTHBEARER", "SCRAM-SHA-512"] | None = None
    # SCRAM-SHA-512's user and password (a secret).
    kafka_sasl_username: str | None = None
    kafka_sasl_password: Secret | None = None
    # Replicas of every topic the platform creates (3 on a production cluster, 1 on a single broker).
    topic_replication_factor: Annotated[int, msgspec.Meta(ge=1, le=5)] = 1
    redis_url: NonEmptyStr = "redis://127.0.0.1:6379/0"
    dynamodb_endpoint: str | None = None  # unset on AWS: the SDK finds the regional endpoint
    dynamodb_table: Annotated[str, msgspec.Meta(pattern=r"^[A-Za-z0-9_.-]{3,255}$(?!\n)")] = "sportsfeeds"
    aws_region: NonEmptyStr = "eu-west-1"
    log_level: LogLevel = "INFO"

    def __post_init__(self) -> None:
        for server in self.kafka_bootstrap_servers.split(","):
            if not re.fullmatch(r"[^\s:,]+:\d{1,5}", server.strip()):
                raise ValueError(
                    f"KAFKA_BOOTSTRAP_SERVERS: {server.strip()!r} is not host:port"
                )
        self._check_kafka_sasl()
        if not self.redis_url.startswith(("redis://", "rediss://", "unix://")):
            raise ValueError("REDIS_URL: must start with redis://, rediss:// or unix://")
        if self.dynamodb_endpoint is not None and not self.dynamodb_endpoint.startswith(
            ("http://", "https://")
        ):
            raise ValueError("DYNAMODB_ENDPOINT: must be an http:// or https:// URL")

    def _check_kafka_sasl(self) -> None:
        """Refuse an incomplete or contradictory Kafka authentication before any client tries it."""
        sasl = self.kafka_security_protocol.startswith("SASL_")
        mechanism = self.kafka_sasl_mechanism
        user_or_password = self.kafka_sasl_username is not None or self.kafka_sasl_password is not None
        if sasl and mechanism is None:
            raise ValueError(f"KAFKA_SASL_MECHANISM: required with KAFKA_SECURITY_PROTOCOL="
                             f"{self.kafka_security_protocol} (OAUTHBEARER for MSK IAM, or SCRAM-SHA-512)")
        if not sasl and (mechanism is not None or user_or_password):
            raise ValueError("KAFKA_SASL_MECHANISM: SASL settings need KAFKA_SECURITY_PROTOCOL=SASL_SSL "
                             f"(or SASL_PLAINTEXT), not {self.kafka_security_protocol}")
        if mechanism == "SCRAM-SHA-512" and (self.kafka_sasl_username is None or self.kafka_sasl_password is None):
            raise ValueError("KAFKA_SASL_USERNAME: SCRAM-SHA-512 needs both KAFKA_SASL_USERNAME and "
                             "KAFKA_SASL_PASSWORD")
        if mechanism == "OAUTHBEARER":
            if user_or_password:
                raise ValueError("KAFKA_SASL_USERNAME: OAUTHBEARER (MSK IAM) signs with the process's AWS "
                                 "credentials; a user name or password is not used, so it is refused")
            if self.kafka_security_protocol != "SASL_SSL":
                raise ValueError("KAFKA_SECURITY_PROTOCOL: OAUTHBEARER (MSK IAM) is offered over TLS only: "
                                 "SASL_SSL")


SettingsT = TypeVar("SettingsT", bound=CommonSettings)


def _decode_secret(type_: type, value: Any) -> Any:
    if type_ is Secret:
        if not isinstance(value, str) or not value:
            raise ValueError("must be a non-empty string")
        return Secret(value)
    raise NotImplementedError(type_)


def load_settings(
    settings_type: type[SettingsT], environ: Mapping[str, str] | None = None
) -> SettingsT:
    """Read ``settings_type`` from ``environ`` (default: the process environment).

    Empty strings count as unset, so ``FOO=`` falls back to the default or is
    reported as missing. Raises :class:`SettingsError` naming the variable.
    """
    source = os.environ if environ is None else environ
    values = {key: value for key, value in source.items() if value != ""}
    try:
        return msgspec.convert(
            values, settings_type, strict=False, dec_hook=_decode_secret
        )
    except msgspec.ValidationError as error:
        raise SettingsError(_explain(str(error))) from None


def _explain(message: str) -> str:
    """Turn msgspec's ``... - at `$.NAME``` into ``NAME: ...``."""
    missing = re.fullmatch(r"Object missing required field `(\w+)`", message)
    if missing:
        return f"{missing.group(1)}: required environment variable is not set"
    located = re.fullmatch(r"(.*) - at `\$\.(\w+)`", message, flags=re.DOTALL)
    if located:
        return f"{located.group(2)}: {located.group(1)}"
    return message
