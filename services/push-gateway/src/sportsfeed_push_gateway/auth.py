"""Who may open a socket: the Origin check and the analyst's JWT; and the admin bearer token.

Tokens are checked by the platform's one verifier (sportsfeed_common.jwt_auth), as on the read API.
"""

from __future__ import annotations

import hmac

from sportsfeed_common.jwt_auth import InvalidToken, TokenVerifier
from sportsfeed_common.settings import Secret


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


def socket_client(tokens: TokenVerifier, token: str | None, requested_client: str | None) -> str:
    """The client id of a socket opened with ``token``; ``client=`` may only repeat the token's ``sub``."""
    if not token:
        raise Refused(401, "token", "a token is required: /ws?client=<id>&token=<jwt>")
    try:
        subject = tokens.subject(token)
    except InvalidToken as error:
        raise Refused(401, "token", str(error)) from None
    if requested_client is not None and requested_client != subject:
        raise Refused(403, "token", "the token is for another client")
    return subject


def admin_allowed(authorization: str | None, admin_token: Secret | None) -> bool:
    if admin_token is None or authorization is None or not authorization.startswith("Bearer "):
        return False
    return hmac.compare_digest(authorization.removeprefix("Bearer ").encode(), admin_token.reveal().encode())
