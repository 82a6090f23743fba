"""The provider API. Every write goes through one pipeline:

authenticate -> content type -> body (size, time) -> validate (all or nothing)
-> rate limit (counted in items) -> produce and wait for Kafka -> 202.

Each step that refuses answers with its own status and a JSON body, and
nothing of a refused request reaches Kafka.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from aiohttp import web
from sportsfeed_common.events import Event, Game, OddsUpdate, encode
from sportsfeed_common.http import Body, json_error, json_response
from sportsfeed_common.topics import GAMES, ODDS_RAW

from .auth import API_KEY_HEADER, ApiKeys
from .metrics import IngestMetrics
from .payloads import (
    Context,
    InvalidBatch,
    MalformedBody,
    TooManyItems,
    validate_games,
    validate_odds,
    validate_reference_feed,
)
from .publisher import KafkaUnavailable, Publisher
from .ratelimit import RateLimiter
from .responses import FeedsAccepted, GamesAccepted, OddsAccepted
from .settings import IngestSettings

# How soon a provider should retry after a 503: Kafka outages are usually brief.
RETRY_AFTER_UNAVAILABLE_SECONDS = 1


@dataclass
class Ingest:
    """Everything the handlers share, built once per application."""

    settings: IngestSettings
    api_keys: ApiKeys
    metrics: IngestMetrics
    publisher: Publisher
    limiter: RateLimiter


INGEST = web.AppKey("ingest", Ingest)


class Refused(Exception):
    """A step of the pipeline refused the request with this response."""

    def __init__(self, response: web.Response) -> None:
        self.response = response


def _authenticate(request: web.Request, ingest: Ingest, allow_anonymous: bool) -> str:
    key = request.headers.get(API_KEY_HEADER)
    if not key and allow_anonymous and ingest.settings.anonymous_feeds_provider:
        return ingest.settings.anonymous_feeds_provider
    provider = ingest.api_keys.provider_for(key)
    if provider is None:
        reason = "missing" if not key else "not valid"
        raise Refused(
            json_error(401, "unauthorized", f"{API_KEY_HEADER} header is {reason}",
                       headers={"WWW-Authenticate": API_KEY_HEADER})
        )
    return provider


def _require_json(request: web.Request) -> None:
    charset = (request.charset or "utf-8").lower()
    if request.content_type != "application/json" or charset not in ("utf-8", "utf8"):
        raise Refused(
            json_error(415, "unsupported_media_type",
                       f"Content-Type must be application/json (UTF-8), not {request.headers.get('Content-Type', 'none')!r}")
        )


async def _read_body(request: web.Request, settings: IngestSettings) -> bytes:
    if request.content_length is not None and request.content_length > settings.max_body_bytes:
        raise Refused(_too_large(f"the body is {request.content_length} bytes; at most {settings.max_body_bytes}"))
    if request.content_length is not None and request.content.total_bytes >= request.content_length:
        return await request.read()  # already arrived whole (the usual case): no timer needed
    try:
        async with asyncio.timeout(settings.body_timeout_seconds):
            return await request.read()
    except TimeoutError:
        raise Refused(
            json_error(408, "request_timeout", f"the body did not arrive within {settings.body_timeout_seconds:g} s")
        ) from None
    except web.HTTPRequestEntityTooLarge:
        raise Refused(_too_large(f"the body exceeds {settings.max_body_bytes} bytes")) from None


def _too_large(message: str) -> web.Response:
    return json_error(413, "payload_too_large", message)


def _validate(validate: Callable[[bytes, Context], list[Any]], body: bytes, context: Context,
              ingest: Ingest) -> list[Any]:
    try:
        return validate(body, context)
    except MalformedBody as error:
        raise Refused(json_error(400, "malformed_json", f"the body is not valid JSON: {error}")) from None
    except TooManyItems as error:
        raise Refused(_too_large(str(error))) from None
    except InvalidBatch as error:
        ingest.metrics.items_refused.labels(context.provider).inc(len(error.errors))
        raise Refused(
            json_error(422, "invalid_items",
                       f"{len(error.errors)} item(s) are invalid; nothing was accepted",
                       errors=error.errors)
        ) from None


async def _rate_limit(ingest: Ingest, provider: str, items: int) -> None:
    decision = await ingest.limiter.check(provider, items)
    if not decision.checked:
        ingest.metrics.rate_limit_unchecked.inc()
    if not decision.allowed:
        raise Refused(
            json_error(429, "rate_limited",
                       f"provider {provider!r} is over its rate limit; retry in {decision.retry_after_seconds} s",
                       headers={"Retry-After": str(decision.retry_after_seconds)})
        )


async def _publish(ingest: Ingest, provider: str, topic: str, events: Sequence[Event],
                   key_of: Callable[[Any], str]) -> None:
    records = [(key_of(event).encode(), encode(event)) for event in events]
    try:
        seconds = await ingest.publisher.publish(topic, records)
    except KafkaUnavailable as error:
        raise Refused(
            json_error(503, "unavailable", f"{error}; nothing from this request is acknowledged, retry it",
                       headers={"Retry-After": str(RETRY_AFTER_UNAVAILABLE_SECONDS)})
        ) from None
    ingest.metrics.produce_seconds.observe(seconds)
    ingest.metrics.updates_accepted.labels(provider, topic).inc(len(events))


async def _accept(
    request: web.Request,
    validate: Callable[[bytes, Context], list[Any]],
    topic: str,
    key_of: Callable[[Any], str],
    respond: Callable[[list[Any]], Body],
    allow_anonymous: bool = False,
) -> web.Response:
    ingest = request.app[INGEST]
    try:
        provider = _authenticate(request, ingest, allow_anonymous)
        _require_json(request)
        body = await _read_body(request, ingest.settings)
        context = Context.at(
            provider=provider,
            now=datetime.now(UTC),
            max_items=ingest.settings.max_batch_items,
            max_future_skew=timedelta(seconds=ingest.settings.max_future_skew_seconds),
        )
        events = _validate(validate, body, context, ingest)
        await _rate_limit(ingest, provider, len(events))
        await _publish(ingest, provider, topic, events, key_of)
    except Refused as refusal:
        return refusal.response
    return json_response(respond(events), status=202)


def _game_of(event: OddsUpdate | Game) -> str:
    return event.game_id


async def post_odds(request: web.Request) -> web.Response:
    return await _accept(
        request, validate_odds, ODDS_RAW.name, _game_of,
        lambda updates: OddsAccepted(accepted=len(updates), ids=[u.id for u in updates]),
    )


async def put_feeds(request: web.Request) -> web.Response:
    return await _accept(
        request, validate_reference_feed, ODDS_RAW.name, _game_of,
        lambda updates: FeedsAccepted(accepted=len(updates), ids=[u.id for u in updates]),
        allow_anonymous=True,
    )


async def put_games(request: web.Request) -> web.Response:
    return await _accept(
        request, validate_games, GAMES.name, _game_of,
        lambda games: GamesAccepted(accepted=len(games), game_ids=[g.game_id for g in games]),
    )
