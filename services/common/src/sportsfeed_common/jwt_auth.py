"""Analysts' JWTs, checked one way by every service that serves them data.

HS256 tokens signed with ``JWT_SECRET``; ``sub`` (the client id) and ``exp`` are required, and
``aud`` is checked when ``JWT_AUDIENCE`` is set. The push gateway takes them on ``/ws``
(``token=``) and on ``/api`` (a bearer, which it forwards); the persistence read API takes them
as a bearer. Settings: :class:`AnalystAuthSettings`; requests: :func:`bearer_refusal`.
"""

from __future__ import annotations

import jwt
from aiohttp import web

from .http import json_error
from .settings import CommonSettings, Secret

ALGORITHMS = ["HS256"]
BEARER = "Bearer "


class InvalidToken(ValueError):
    """The token is missing, malformed, expired, signed with another key or for another audience."""


class TokenVerifier:
    """HS256 tokens with ``sub`` (the client id) and ``exp``; ``aud`` checked when configured."""

    def __init__(self, secret: Secret, audience: str | None) -> None:
        self._secret = secret
        self._audience = audience

    def subject(self, token: str | None) -> str:
        """The client id the token was issued to; raises :class:`InvalidToken`."""
        if not token:
            raise InvalidToken("no token")
        try:
            claims = jwt.decode(token, self._secret.reveal(), algorithms=ALGORITHMS, audience=self._audience,
                                options={"require": ["exp", "sub"]})
        except jwt.InvalidTokenError as error:
            raise InvalidToken(f"invalid token: {error}") from None
        return str(claims["sub"])


def bearer_token(authorization: str | None) -> str | None:
    """The token of an ``Authorization: Bearer <token>`` header; None for any other header or none."""
    if authorization is None or not authorization.startswith(BEARER):
        return None
    return authorization.removeprefix(BEARER).strip() or None


def bearer_refusal(tokens: TokenVerifier | None, request: web.Request) -> web.Response | None:
    """None when ``request`` may go on (auth off, or a valid bearer token); else the 401 to answer."""
    if tokens is None:
        return None
    try:
        tokens.subject(bearer_token(request.headers.get("Authorization")))
    except InvalidToken as error:
        return json_error(401, "unauthorized", f"Authorization: Bearer <jwt> is required: {error}",
                          headers={"WWW-Authenticate": "Bearer"})
    return None


class AnalystAuthSettings(CommonSettings, kw_only=True):
    """Settings of a service that serves analysts: JWT auth, off locally and on in production."""

    auth_enabled: bool = False
    # The HS256 key analysts' tokens are signed with; the same for every service that checks them.
    jwt_secret: Secret | None = None
    # The aud claim tokens must carry; unset: not checked (a token that carries one is refused).
    jwt_audience: str | None = None

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.auth_enabled and self.jwt_secret is None:
            raise ValueError("JWT_SECRET: required when AUTH_ENABLED is true")

    def token_verifier(self) -> TokenVerifier | None:
        """The verifier to check requests with; None while auth is off."""
        if not self.auth_enabled or self.jwt_secret is None:
            return None
        return TokenVerifier(self.jwt_secret, self.jwt_audience)
