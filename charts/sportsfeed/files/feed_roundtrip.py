"""`helm test`: post one price to ingest, then read it back from the persistence read API.

It passes only if the whole write path works: ingest accepts the key and produces to Kafka,
the stream processor sequences the update onto odds.live, persistence stores it from there in
DynamoDB, and the read API finds it. With JWT_SECRET set (the read API's key; its AUTH_ENABLED
is on in production) the reads carry an analyst's token the script signs itself: HS256, sub and
a short exp, aud when JWT_AUDIENCE is set. Standard library only, so any service image runs it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import sys
import time
import urllib.error
import urllib.request
import uuid
from datetime import UTC, datetime

INGEST_URL = os.environ["INGEST_URL"]
READ_API_URL = os.environ["READ_API_URL"]
API_KEY = os.environ["PROVIDER_API_KEY"]
JWT_SECRET = os.environ.get("JWT_SECRET", "")
JWT_AUDIENCE = os.environ.get("JWT_AUDIENCE", "")
TIMEOUT_SECONDS = float(os.environ.get("TIMEOUT_SECONDS", "120"))
DEADLINE = time.monotonic() + TIMEOUT_SECONDS


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def analyst_token(secret: str, audience: str) -> str:
    """An HS256 JWT as the analysts' token issuer makes them, valid for the test's duration."""
    claims = {"sub": "helm-test", "iat": int(time.time()), "exp": int(time.time() + TIMEOUT_SECONDS + 60)}
    if audience:
        claims["aud"] = audience
    signed = ".".join(_b64(json.dumps(part, separators=(",", ":")).encode())
                      for part in ({"alg": "HS256", "typ": "JWT"}, claims))
    signature = hmac.new(secret.encode(), signed.encode(), hashlib.sha256).digest()
    return f"{signed}.{_b64(signature)}"


def call(method: str, url: str, body: object = None, headers: dict[str, str] | None = None) -> tuple[int, dict]:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method=method, headers={
        "Content-Type": "application/json", "X-API-Key": API_KEY, **(headers or {})})
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            return answer.status, json.load(answer)
    except urllib.error.HTTPError as error:
        text = error.read().decode(errors="replace")
        return error.code, json.loads(text) if text.startswith("{") else {"message": text}


def until_deadline(what: str, attempt) -> dict:
    """Repeat ``attempt`` (None: not yet) every second until it answers or time runs out."""
    last = None
    while time.monotonic() < DEADLINE:
        try:
            result, last = attempt()
        except OSError as error:  # not listening yet, connection refused, timed out
            result, last = None, repr(error)
        if result is not None:
            return result
        time.sleep(1)
    sys.exit(f"FAILED: {what}; last answer: {last}")


def main() -> None:
    game_id = f"game-helm-test-{uuid.uuid4().hex[:16]}"
    ts = datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    update = {"gameId": game_id, "market": "spread", "ts": ts, "home": -3.5, "away": 3.5,
              "homeOdds": -110, "awayOdds": -105}

    def post() -> tuple[dict | None, object]:
        status, body = call("POST", f"{INGEST_URL}/v1/odds", {"updates": [update]})
        if status in (401, 422):  # a wrong key or a refused body will not get better by retrying
            sys.exit(f"FAILED: ingest refused the update with {status}: {body}")
        return (body if status == 202 else None), (status, body)

    accepted = until_deadline("ingest did not accept the update", post)
    update_id = accepted["ids"][0]
    print(f"ingest accepted {update_id} for {game_id}")

    reader = {"Authorization": f"Bearer {analyst_token(JWT_SECRET, JWT_AUDIENCE)}"} if JWT_SECRET else {}

    def read_back() -> tuple[dict | None, object]:
        status, body = call("GET", f"{READ_API_URL}/v1/games/{game_id}/odds/latest", headers=reader)
        if status == 401:  # no token, or one the read API does not accept: retrying will not help
            why = ("the token signed with JWT_SECRET was refused" if reader
                   else "no token sent: persistence.secretEnv.JWT_SECRET is not set")
            sys.exit(f"FAILED: the read API refused the read with 401 ({why}): {body}")
        return (body if status == 200 and body.get("id") == update_id else None), (status, body)

    stored = until_deadline("the read API did not return the update", read_back)
    print(f"persistence returned {stored['id']}: stored and readable")


if __name__ == "__main__":
    main()
