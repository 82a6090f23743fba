"""How the platform's Kafka clients connect and authenticate, for every client library it uses.

- ``PLAINTEXT``: a local broker.
- ``SSL``: TLS, as on MSK's unauthenticated TLS listener.
- ``SASL_SSL``: TLS plus SASL, the two ways MSK authenticates clients:
  - ``OAUTHBEARER``: MSK IAM. Each token is signed with the pod's own AWS credentials (IRSA on
    EKS) by ``aws-msk-iam-sasl-signer-python``; there is no password anywhere.
  - ``SCRAM-SHA-512``: a user name and a password (MSK keeps them in Secrets Manager).
- ``SASL_PLAINTEXT``: SASL without TLS, for a self-managed broker on a private network (never
  MSK, whose SASL listeners all use TLS).

aiokafka (and faust, on top of it) needs an SSL context for TLS; librdkafka (ingest's producer)
takes the same settings under its own names. MSK's broker certificates are signed by a public
authority (Amazon Trust Services), so the system's trust store is all a client needs.
"""

from __future__ import annotations

import asyncio
import ssl
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from aiokafka.abc import AbstractTokenProvider

if TYPE_CHECKING:
    from .settings import CommonSettings, Secret

MSK_IAM = "OAUTHBEARER"
SCRAM = "SCRAM-SHA-512"
# A token is signed anew this long before it expires (the signer's tokens last 15 minutes).
TOKEN_REFRESH_MARGIN_SECONDS = 60


def uses_tls(security_protocol: str) -> bool:
    return security_protocol in ("SSL", "SASL_SSL")


@dataclass(frozen=True)
class KafkaSecurity:
    """What KAFKA_SECURITY_PROTOCOL and the KAFKA_SASL_* settings say, checked by the settings."""

    protocol: str = "PLAINTEXT"
    mechanism: str | None = None
    username: str | None = None
    password: Secret | None = None
    region: str | None = None  # MSK IAM signs for the cluster's region

    @classmethod
    def of(cls, settings: CommonSettings) -> KafkaSecurity:
        return cls(protocol=settings.kafka_security_protocol, mechanism=settings.kafka_sasl_mechanism,
                   username=settings.kafka_sasl_username, password=settings.kafka_sasl_password,
                   region=settings.aws_region)

    @property
    def tls(self) -> bool:
        return uses_tls(self.protocol)


class MskIamToken:
    """MSK IAM auth tokens, signed with the process's AWS credentials, reused until shortly before
    they expire. The signer is synchronous (botocore's credential chain may call STS), so aiokafka's
    provider runs it in a thread."""

    def __init__(self, region: str, signer: Any = None) -> None:
        if signer is None:
            from aws_msk_iam_sasl_signer import MSKAuthTokenProvider
            signer = MSKAuthTokenProvider.generate_auth_token
        self._region = region
        self._signer = signer
        self._token: str | None = None
        self._expires_at = 0.0  # epoch seconds

    def current(self) -> tuple[str, float]:
        """A valid token and when it expires (epoch seconds)."""
        if self._token is None or time.time() > self._expires_at - TOKEN_REFRESH_MARGIN_SECONDS:
            token, expiry_ms = self._signer(self._region)
            self._token, self._expires_at = token, expiry_ms / 1000
        assert self._token is not None
        return self._token, self._expires_at


class AiokafkaMskIamTokens(AbstractTokenProvider):
    """aiokafka's (and faust's) OAUTHBEARER token provider for MSK IAM."""

    def __init__(self, tokens: MskIamToken) -> None:
        self._tokens = tokens

    async def token(self) -> str:
        token, _ = await asyncio.to_thread(self._tokens.current)
        return token


def _tls_context() -> ssl.SSLContext:
    return ssl.create_default_context()


def aiokafka_security(security: KafkaSecurity) -> dict[str, Any]:
    """Keyword arguments for any aiokafka client (consumer, producer, admin)."""
    options: dict[str, Any] = {"security_protocol": security.protocol}
    if security.tls:
        options["ssl_context"] = _tls_context()
    if security.mechanism == MSK_IAM:
        assert security.region is not None
        options.update(sasl_mechanism=MSK_IAM,
                       sasl_oauth_token_provider=AiokafkaMskIamTokens(MskIamToken(security.region)))
    elif security.mechanism == SCRAM:
        assert security.username is not None and security.password is not None
        options.update(sasl_mechanism=SCRAM, sasl_plain_username=security.username,
                       sasl_plain_password=security.password.reveal())
    return options


def librdkafka_security(security: KafkaSecurity) -> dict[str, Any]:
    """The same, as librdkafka configuration (confluent-kafka's Producer)."""
    options: dict[str, Any] = {"security.protocol": security.protocol.lower()}
    if security.tls:
        options["ssl.ca.location"] = "probe"  # the system's trust store, wherever the distribution keeps it
    if security.mechanism == MSK_IAM:
        assert security.region is not None
        tokens = MskIamToken(security.region)
        options.update({"sasl.mechanisms": MSK_IAM, "oauth_cb": lambda _config: tokens.current()})
    elif security.mechanism == SCRAM:
        assert security.username is not None and security.password is not None
        options.update({"sasl.mechanisms": SCRAM, "sasl.username": security.username,
                        "sasl.password": security.password.reveal()})
    return options
