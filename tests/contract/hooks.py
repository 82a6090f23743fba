"""Schemathesis hooks for the rules an OpenAPI document can only state in words.

Each service's document carries every rule a JSON Schema can hold. Three rules depend on
something outside the request, and each document states them in its descriptions:

- times relative to the server clock: ingest refuses a ``ts`` or ``date`` more than
  MAX_FUTURE_SKEW_SECONDS ahead of it;
- one parameter against another: the read API refuses ``from`` after ``to``, and totals over
  more than 48 hours;
- opaque cursors: only a ``nextCursor`` the read API issued continues a query;
- the caller: an update's optional ``provider`` must be the API key's.

The hooks keep generated *valid* values inside those rules, so a valid request stays valid,
and leave invalid values alone, so every negative case stays negative. Everything else
schemathesis generates goes to the services unchanged.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import msgspec
import schemathesis
from hypothesis import strategies as st
from sportsfeed_common.events import UtcTime
from sportsfeed_common.ids import ProviderId
from sportsfeed_ingest.payloads import REFERENCE_DATE_PATTERN, EpochSeconds, parse_reference_date
from sportsfeed_persistence.history import MAX_TOTALS_RANGE, InvalidQuery, decode_cursor
from sportsfeed_persistence.queries import MAX_CURSOR_LENGTH, parse_time

# Generated times end a minute before the run starts: never ahead of a server's clock.
_LATEST = datetime.now(UTC) - timedelta(minutes=1)
_PAST = datetime(2020, 1, 1, tzinfo=UTC)
_REFERENCE_DATE = re.compile(REFERENCE_DATE_PATTERN)
_PROVIDER = re.compile(ProviderId.__metadata__[0].pattern)
_EPOCH_SECONDS_MAX = EpochSeconds.__metadata__[0].le
_TOTALS = {"/v1/providers/{provider}/counts/totals", "/v1/games/{gameId}/counts"}

_offsets = st.sampled_from([UTC, timezone(timedelta(hours=5, minutes=30)), timezone(-timedelta(hours=8))])
schemathesis.openapi.format("date-time", st.datetimes(
    min_value=datetime(1970, 1, 2), max_value=_LATEST.replace(tzinfo=None), timezones=_offsets,
).map(lambda moment: moment.isoformat().replace("+00:00", "Z")))


def _in_the_past(value: Any) -> Any:
    """A valid future reference ``date`` (or ``ts``) becomes a past one of the same kind; anything else stays."""
    if isinstance(value, (int, float)) and not isinstance(value, bool) and 0 <= value <= _EPOCH_SECONDS_MAX:
        return min(value, _PAST.timestamp())
    if isinstance(value, str) and _REFERENCE_DATE.match(value) and parse_reference_date(value) > _LATEST:
        return "2020-01-01 00:00:00"
    return value


@schemathesis.hook
def map_case(context: schemathesis.HookContext, case: schemathesis.Case) -> schemathesis.Case:
    """Every phase's cases (coverage, fuzzing, stateful) pass here on their way to the service."""
    path = case.operation.path
    if isinstance(case.body, dict):
        _map_body(path, case.body)
    if isinstance(case.query, dict):
        _map_query(path, case.query)
    return case


def _is_future_time(text: str) -> bool:
    try:
        return msgspec.convert(text, UtcTime) > _LATEST
    except msgspec.ValidationError:
        return False  # not a time at all: left as generated


def _map_body(path: str, body: dict[str, Any]) -> None:
    if path == "/feeds":
        for item in body.get("odds") or []:
            if isinstance(item, dict) and "date" in item:
                item["date"] = _in_the_past(item["date"])
    if path == "/v1/odds":
        for item in body.get("updates") or []:
            if isinstance(item, dict) and isinstance(item.get("ts"), str) and _is_future_time(item["ts"]):
                item["ts"] = "2020-01-01T00:00:00Z"
            if isinstance(item, dict) and isinstance(item.get("provider"), str) and _PROVIDER.match(item["provider"]):
                del item["provider"]  # optional, and when valid it must be the key's provider: left out


def _time(query: dict[str, Any], name: str) -> datetime | None:
    try:
        return parse_time(name, str(query[name])) if name in query else None
    except InvalidQuery:
        return None


def _issued(cursor: str) -> bool:
    try:
        decode_cursor(cursor, {})
    except InvalidQuery:
        return False
    return True


def _map_query(path: str, query: dict[str, Any]) -> None:
    cursor = query.get("cursor")
    if isinstance(cursor, str) and _issued(cursor):
        # A nextCursor the read API issued, which the stateful phase brings through a link: it continues
        # the query it came from, whose range generated bounds may not hold. The whole range holds it.
        query.pop("from", None)
        query.pop("to", None)
    elif isinstance(cursor, str) and len(cursor) <= MAX_CURSOR_LENGTH:
        del query["cursor"]  # a valid-looking cursor the API never issued: the stateful phase brings real ones
    start, end = _time(query, "from"), _time(query, "to")
    if start is not None and end is not None:
        if start > end:
            query["from"], query["to"] = query["to"], query["from"]
            start, end = end, start
        if path in _TOTALS and end - start > MAX_TOTALS_RANGE:
            query["to"] = query["from"]
