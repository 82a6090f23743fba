"""Who may open a socket: the Origin check and JWT verification; and the admin bearer token."""

from __future__ import annotations

import hmac

import jwt
from sportsfeed_common.settings import Secret

ALGORITHMS = ["HS256"]


class Refused(Exception):
    def __init__(self, status: int, reason: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.reason = reason


def check_origin(origin: str | None, allowed: frozenset[str]) -> None:
    """Browsers always send Origin; a page of another site must not read analysts' feeds."""
    if origin is None or "*" in allowed or origin.rstrip("/") in allowed:
        return
    raise Refused(403, "origin", f"origin {origin} is not allowed")


class TokenVerifier:
    """HS256 tokens with ``sub`` (the client id) and ``exp``; ``aud`` checked when configured."""

    def __init__(self, secret: Secret, audience: str | None) -> None:
        self._secret = secret
        self._audience = audience

    def client_id(self, token: str | None, requested_client: str | None) -> str:
        if not token:
            raise Refused(401, "token", "a token is required: /ws?client=<id>&token=<jwt>")
        try:
            claims = jwt.decode(token, self._secret.reveal(), algorithms=ALGORITHMS, audience=self._audience,
                                options={"require": ["exp", "sub"]})
        except jwt.InvalidTokenError as error:
            raise Refused(401, "token", f"invalid token: {error}") from None
        subject = str(claims["sub"])
        if requested_client is not None and requested_client != subject:
            raise Refused(403, "token", "the token is for another client")
        return subject


def admin_allowed(authorization: str | None, admin_token: Secret | None) -> bool:
    if admin_token is None or authorization is None or not authorization.startswith("Bearer "):
        return False
    return hmac.compare_digest(authorization.removeprefix("Bearer ").encode(), admin_token.reveal().encode())
