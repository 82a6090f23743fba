"""`helm test`: post one price to ingest, then read it back from the persistence read API.

It passes only if the whole write path works: ingest accepts the key and produces to Kafka,
persistence stores the update in DynamoDB, and the read API finds it. Standard library only,
so any service image runs it.
"""

from __future__ import annotations

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
DEADLINE = time.monotonic() + float(os.environ.get("TIMEOUT_SECONDS", "120"))


def call(method: str, url: str, body: object = None) -> tuple[int, dict]:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method=method, headers={
        "Content-Type": "application/json", "X-API-Key": API_KEY})
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

    def read_back() -> tuple[dict | None, object]:
        status, body = call("GET", f"{READ_API_URL}/v1/games/{game_id}/odds/latest")
        return (body if status == 200 and body.get("id") == update_id else None), (status, body)

    stored = until_deadline("the read API did not return the update", read_back)
    print(f"persistence returned {stored['id']}: stored and readable")


if __name__ == "__main__":
    main()
