"""Query-string parameters of the read API, validated: a bad value is a 400 naming the parameter.

Times are ISO-8601 with a time zone (``2026-11-23T12:00:00Z``) or epoch
milliseconds. Unknown parameters are refused too: a typo such as ``form=``
would otherwise silently return a different range than the one asked for.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import msgspec
from sportsfeed_common.events import UtcTime
from sportsfeed_common.ids import GAME_ID_REGEX, MARKET_REGEX, PROVIDER_ID_REGEX
from sportsfeed_common.times import epoch_millis, platform_time

from .history import MAX_LIMIT, InvalidQuery, check_limit

EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
LATEST = datetime(9999, 12, 31, 23, 59, 59, 999000, tzinfo=UTC)
MAX_CURSOR_LENGTH = 2048
_LATEST_MILLIS = epoch_millis(LATEST)
# What parse_time accepts, for the OpenAPI document: an RFC 3339 time (from 1970 on, as every date-time there),
# or epoch milliseconds.
TIME_SCHEMA = {
    "description": "RFC 3339 with a time zone (2026-11-23T12:00:00Z), from 1970 on, or epoch milliseconds",
    "anyOf": [{"type": "string", "format": "date-time"},
              {"type": "integer", "minimum": 0, "maximum": _LATEST_MILLIS}],
}

_EPOCH_MILLIS = re.compile(r"[0-9]{1,15}")
_LIMIT = re.compile(r"[0-9]{1,7}")


def check_known(query: Mapping[str, str], allowed: set[str]) -> None:
    for name in query:
        if name not in allowed:
            expected = ", ".join(sorted(allowed)) or "none"
            raise InvalidQuery(name, f"unknown parameter (this endpoint takes: {expected})")


def parse_time(name: str, text: str) -> datetime:
    if _EPOCH_MILLIS.fullmatch(text):
        millis = int(text)
        if millis > _LATEST_MILLIS:
            raise InvalidQuery(name, "is after the year 9999")
        return EARLIEST + timedelta(milliseconds=millis)
    try:
        moment = msgspec.convert(text, UtcTime)  # RFC 3339, as the events' times
    except msgspec.ValidationError as error:
        reason = ("must carry a time zone (for example 2026-11-23T12:00:00Z)" if "timezone" in str(error)
                  else "must be an RFC 3339 time with a time zone or epoch milliseconds")
        raise InvalidQuery(name, reason) from None
    try:
        return platform_time(name, moment)
    except ValueError as error:
        raise InvalidQuery(name, str(error).removeprefix(f"{name}: ")) from None


@dataclass(frozen=True)
class Window:
    start: datetime
    end: datetime
    limit: int | None
    cursor: str | None


def parse_window(query: Mapping[str, str], default_start: datetime = EARLIEST,
                 default_end: datetime = LATEST) -> Window:
    """``from``, ``to``, ``limit`` and ``cursor``; ``from`` must not be after ``to``."""
    start = parse_time("from", query["from"]) if "from" in query else default_start
    end = parse_time("to", query["to"]) if "to" in query else default_end
    if start > end:
        raise InvalidQuery("from", "must not be after 'to'")
    limit = None
    if "limit" in query:
        if not _LIMIT.fullmatch(query["limit"]):
            raise InvalidQuery("limit", f"must be a whole number from 1 to {MAX_LIMIT}")
        limit = check_limit(int(query["limit"]))
    cursor = query.get("cursor") or None
    if cursor is not None and len(cursor) > MAX_CURSOR_LENGTH:
        raise InvalidQuery("cursor", "is not a cursor this API issued")
    return Window(start, end, limit, cursor)


def game_id(text: str) -> str:
    if not GAME_ID_REGEX.fullmatch(text):
        raise InvalidQuery("gameId", "must look like game-<id> (letters, digits, '.', '_', ':', '-')")
    return text


def provider(text: str) -> str:
    """A provider id, as the events have it."""
    if not PROVIDER_ID_REGEX.fullmatch(text):
        raise InvalidQuery("provider", "must be lower-case letters, digits, '_' or '-' (at most 64)")
    return text


def market(text: str) -> str:
    """A market, as the events have it."""
    if not MARKET_REGEX.fullmatch(text):
        raise InvalidQuery("market", "must be lower-case letters, digits, '_' or '-' (at most 32)")
    return text
