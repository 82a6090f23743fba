"""``/openapi.json``: generated from the request and response types the handlers really use, plus the
rules they check beyond those types (the odds rules of the events, the reference's date grammar)."""

from __future__ import annotations

from typing import Any

from sportsfeed_common.events import odds_rules_schema
from sportsfeed_common.openapi import (
    Auth,
    components,
    document,
    json_body,
    operation,
    refusal,
    service_paths,
)

from .auth import API_KEY_HEADER
from .payloads import REFERENCE_DATE_PATTERN, GamesBatch, OddsBatch, ReferenceFeed
from .responses import FeedsAccepted, GamesAccepted, OddsAccepted
from .settings import IngestSettings

_REFUSALS = {
    "400": "The body is not JSON.",
    "408": "The body did not arrive in time.",
    "413": "The body is over MAX_BODY_BYTES, or the batch holds more items than the document's maxItems.",
    "415": "Content-Type is not application/json (UTF-8).",
    "422": "Some items are invalid: one error per bad item; nothing was accepted. Besides the schema, a time "
           "more than MAX_FUTURE_SKEW_SECONDS ahead of the server clock is refused here.",
    "429": "The provider is over its rate limit; Retry-After says when to retry.",
    "503": "Kafka did not acknowledge the batch in time; nothing is acknowledged, retry it.",
}


def _api_key(anonymous: bool) -> Auth:
    """The provider's key. PUT /feeds takes none when ANONYMOUS_FEEDS_PROVIDER is set (local only)."""
    return Auth(scheme_name="ApiKey", scheme={"type": "apiKey", "in": "header", "name": API_KEY_HEADER},
                enabled=True, refused=f"The {API_KEY_HEADER} header is missing or not valid.",
                switch="API_KEYS" if not anonymous else "API_KEYS; ANONYMOUS_FEEDS_PROVIDER is set, so PUT /feeds "
                "also takes requests without a key")


def _write(summary: str, description: str, request: str, accepted: str, auth: Auth,
           anonymous: bool = False) -> dict[str, Any]:
    write = operation(summary, {
        "202": json_body(accepted, "Every item is acknowledged by Kafka."),
        **{status: refusal(text) for status, text in _REFUSALS.items()},
    }, auth=auth, request=request, description=description)
    if anonymous:
        write["security"] = [*write["security"], {}]  # the key is optional: without one, the anonymous provider
    return write


def build_openapi(settings: IngestSettings) -> dict[str, Any]:
    limit = settings.max_batch_items
    anonymous = settings.anonymous_feeds_provider is not None
    auth = _api_key(anonymous)
    schemas = components(OddsBatch, GamesBatch, ReferenceFeed, OddsAccepted, FeedsAccepted, GamesAccepted)
    for name, field in (("OddsBatch", "updates"), ("GamesBatch", "games"), ("ReferenceFeed", "odds")):
        schemas[name]["properties"][field].update(minItems=1, maxItems=limit)
    schemas["OddsSubmission"].update(odds_rules_schema("oddsFormat"))
    schemas["ReferenceOdds"].update(odds_rules_schema(None, market_field="type", draw_field=None))
    for choice in schemas["ReferenceOdds"]["properties"]["date"]["anyOf"]:
        if choice.get("type") == "string":
            choice["pattern"] = REFERENCE_DATE_PATTERN
    skew = f"{settings.max_future_skew_seconds:g}"
    paths = {
        "/v1/odds": {"post": _write(
            "Submit a batch of odds updates",
            f"1 to {limit} updates. `ts` must carry a time zone, be from 1970 on and at most {skew} s ahead of "
            "the server clock. The update id is derived from provider, gameId, market and ts, so a retry is the "
            "same update.",
            "OddsBatch", "OddsAccepted", auth)},
        "/v1/games": {"put": _write(
            "Submit game details", f"1 to {limit} games, produced to the compacted games topic.",
            "GamesBatch", "GamesAccepted", auth)},
        "/feeds": {"put": _write(
            "Submit odds in the reference format",
            "The reference system's body. `date` is epoch seconds or 'YYYY-MM-DD hh:mm:ss[.sss]' (UTC), at most "
            f"{skew} s ahead of the server clock; `type` names the market (default spread); `isOpen: false` marks "
            "it suspended. Prices are American odds.",
            "ReferenceFeed", "FeedsAccepted", auth, anonymous=anonymous)},
        **service_paths("Kafka is reachable"),
    }
    return document("sportsfeed ingest",
                    "The provider API. A batch is all-or-nothing; 202 only after Kafka acknowledged every item.",
                    paths, schemas, [auth])
