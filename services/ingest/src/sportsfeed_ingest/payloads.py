"""Request bodies of the provider API, and their validation into events.

Submissions are strict (unknown fields are refused, so a typo such as
``homeodds`` is an error rather than a silently missing price) and distinct
from the events they become: the provider comes from the API key, and the
server's stamps (``receivedAt``, ``trace``) cannot be supplied.

A batch is all-or-nothing. The fast path decodes the whole body in one typed
pass; only when that fails is each item validated on its own, to report one
error per bad item.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cached_property
from typing import Annotated, Any, TypeVar

import msgspec
from sportsfeed_common.events import (
    Game,
    InvalidEvent,
    Line,
    OddsPrice,
    OddsUpdate,
    Price,
    Trace,
    explain_error,
)
from sportsfeed_common.http import ItemError
from sportsfeed_common.ids import GameId, Market, ProviderId, whole
from sportsfeed_common.times import epoch_millis, to_millisecond


class Submission(msgspec.Struct, rename="camel", kw_only=True, forbid_unknown_fields=True):
    """Base of request items: camelCase, unknown fields refused."""


class OddsSubmission(OddsPrice, Submission, kw_only=True):
    """One price as a provider submits it to ``POST /v1/odds``."""

    provider: ProviderId | None = None  # when given, must be the API key's provider


class GameSubmission(Game, kw_only=True, forbid_unknown_fields=True):
    """Game details as submitted to ``PUT /v1/games``."""


EpochSeconds = Annotated[float, msgspec.Meta(ge=0, le=32_503_680_000)]  # up to year 3000

# The reference's date text, 'YYYY-MM-DD hh:mm:ss[.ssssss]' (or with T, and Z), only real dates from 1970 on.
# parse_reference_date refuses the rest with a short message; the OpenAPI document carries the same pattern.
_MONTH_DAY = r"(?:(?:0[1-9]|1[0-2])-(?:0[1-9]|1[0-9]|2[0-8])|(?:0[13-9]|1[0-2])-(?:29|30)|(?:0[13578]|1[02])-31)"
_LEAP_DAY = r"(?:19(?:7[26]|8[048]|9[26])|[2-9][0-9](?:0[48]|[2468][048]|[13579][26])|(?:[2468][048]|[3579][26])00)-02-29"
_YEAR = r"(?:19[7-9][0-9]|[2-9][0-9]{3})"
_TIME = r"(?:[01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](?:\.[0-9]{1,6})?"
REFERENCE_DATE_PATTERN = whole(rf"(?:{_YEAR}-{_MONTH_DAY}|{_LEAP_DAY})[ T]{_TIME}Z?")
_REFERENCE_DATE = re.compile(REFERENCE_DATE_PATTERN)


class ReferenceOdds(msgspec.Struct, kw_only=True):
    """One element of the reference's ``PUT /feeds`` body.

    The reference ignored ``summary``, ``gameDate``, ``type`` and ``isOpen``; here
    ``type`` names the market (default ``spread``) and ``isOpen: false`` marks
    the market suspended. Unknown fields are tolerated, as the reference did,
    so its scripts keep working.
    """

    gameId: GameId
    date: EpochSeconds | str  # text: REFERENCE_DATE_PATTERN, checked by parse_reference_date
    away: Line | None = None
    home: Line | None = None
    awayOdds: Price
    homeOdds: Price
    summary: str | None = None
    gameDate: str | None = None
    type: Market | None = None
    isOpen: bool | None = None


class OddsBatch(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    updates: list[OddsSubmission]


class GamesBatch(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    games: list[GameSubmission]


class ReferenceFeed(msgspec.Struct, kw_only=True):
    odds: list[ReferenceOdds]


class MalformedBody(ValueError):
    """The body is not JSON at all (400)."""


class TooManyItems(ValueError):
    """More items than one request may carry (413)."""


class InvalidBatch(ValueError):
    """The body is JSON but some items are invalid (422); nothing is accepted."""

    def __init__(self, errors: list[ItemError]) -> None:
        super().__init__(f"{len(errors)} invalid item(s)")
        self.errors = errors


@dataclass(frozen=True)
class Context:
    """What validation needs to know about the request; the server's stamps, made once per request."""

    provider: str
    now: datetime
    max_items: int
    max_future_skew: timedelta

    @classmethod
    def at(cls, provider: str, now: datetime, max_items: int, max_future_skew: timedelta) -> Context:
        return cls(provider, to_millisecond(now), max_items, max_future_skew)

    @cached_property
    def trace(self) -> Trace:
        return Trace(ingested_at=epoch_millis(self.now))

    @cached_property
    def latest_allowed_ts(self) -> datetime:
        return self.now + self.max_future_skew


Item = TypeVar("Item")
Result = TypeVar("Result")


def _validate_batch(
    body: bytes,
    envelope: type[msgspec.Struct],
    list_field: str,
    item_type: type[Item],
    build: Callable[[Item, Context], Result],
    context: Context,
) -> list[Result]:
    """Decode ``{list_field: [...]}`` and turn every item into a result, or raise with every item's error."""
    try:
        decoded = msgspec.json.decode(body, type=envelope)
        items: list[Any] = getattr(decoded, list_field)
        typed = True
    except (msgspec.DecodeError, RecursionError):
        # The untyped pass decides. The typed pass can fail on shape before it reaches a syntax
        # error further on (b'5!...' is "not an object" first); a number out of range (1e999) is
        # valid JSON but no float, so it becomes an item's error; a syntax error is malformed.
        strict = envelope.__struct_config__.forbid_unknown_fields
        items = _items_of(_parse_json(body), list_field, strict)
        typed = False
    if not items:
        raise InvalidBatch([ItemError(index=None, field=list_field, reason="must hold at least one item")])
    if len(items) > context.max_items:
        raise TooManyItems(f"{len(items)} items in {list_field!r}; at most {context.max_items} per request")
    results: list[Result] = []
    errors: list[ItemError] = []
    for index, item in enumerate(items):
        try:
            submission = item if typed else msgspec.convert(item, item_type)
            results.append(build(submission, context))
        except msgspec.ValidationError as error:
            explained = explain_error(error)
            errors.append(ItemError(index=index, field=explained.field, reason=explained.reason))
        except InvalidEvent as error:
            errors.append(ItemError(index=index, field=error.field, reason=error.reason))
    if errors:
        raise InvalidBatch(errors)
    return results


# Numbers beyond a float's range (1e999) become infinities, which every numeric field's bounds refuse.
_untyped = msgspec.json.Decoder(float_hook=float)


def _parse_json(body: bytes) -> Any:
    try:
        return _untyped.decode(body)
    except msgspec.DecodeError as error:
        raise MalformedBody(str(error)) from None
    except RecursionError:  # valid JSON perhaps, but deeper than any request needs: refused unparsed
        raise MalformedBody("nested too deeply") from None


def _items_of(document: Any, list_field: str, strict: bool) -> list[Any]:
    if not isinstance(document, dict):
        raise InvalidBatch(
            [ItemError(index=None, field=None, reason=f"the body must be a JSON object with a {list_field!r} list")]
        )
    items = document.get(list_field)
    if not isinstance(items, list):
        reason = "is required" if items is None else "must be a list"
        raise InvalidBatch([ItemError(index=None, field=list_field, reason=reason)])
    unknown = sorted(set(document) - {list_field})
    if strict and unknown:
        raise InvalidBatch([ItemError(index=None, field=unknown[0], reason="unknown field")])
    return items


def _event_or_invalid(factory: Callable[[], Result]) -> Result:
    """Run an event constructor; turn its cross-field ``ValueError`` into :class:`InvalidEvent`."""
    try:
        return factory()
    except ValueError as error:
        field, _, reason = str(error).partition(": ")
        raise InvalidEvent("$", None, field if reason else None, reason or str(error)) from None


def _check_not_future(ts: datetime, context: Context) -> None:
    if ts > context.latest_allowed_ts:
        raise InvalidEvent(
            "$.ts", None, "ts",
            f"is more than {context.max_future_skew.total_seconds():g} s ahead of the server clock",
        )


# Everything a provider submits except its (optional, checked) provider, which the key decides.
_SUBMITTED_FIELDS = tuple(name for name in OddsSubmission.__struct_fields__ if name != "provider")


def _stamped_update(context: Context, **fields: Any) -> OddsUpdate:
    """An OddsUpdate from the provider's fields plus the server's: provider, receivedAt, trace."""
    update = _event_or_invalid(
        lambda: OddsUpdate(**fields, provider=context.provider, received_at=context.now, trace=context.trace)
    )
    _check_not_future(update.ts, context)
    return update


def odds_from_submission(submission: OddsSubmission, context: Context) -> OddsUpdate:
    if submission.provider is not None and submission.provider != context.provider:
        raise InvalidEvent("$.provider", None, "provider", "does not match the API key's provider")
    return _stamped_update(context, **{name: getattr(submission, name) for name in _SUBMITTED_FIELDS})


def parse_reference_date(value: float | str) -> datetime:
    """The reference's ``date``: epoch seconds, or ``YYYY-MM-DD hh:mm:ss[.sss]`` in UTC, a real date from 1970."""
    if isinstance(value, str):
        if not _REFERENCE_DATE.match(value):
            raise InvalidEvent("$.date", None, "date",
                               "must be epoch seconds or a real date 'YYYY-MM-DD hh:mm:ss[.sss]' (UTC) from 1970 on")
        moment = datetime.fromisoformat(value.rstrip("Z").replace(" ", "T")).replace(tzinfo=UTC)
        return to_millisecond(moment)
    return datetime.fromtimestamp(value, UTC)


def odds_from_reference(item: ReferenceOdds, context: Context) -> OddsUpdate:
    return _stamped_update(
        context,
        game_id=item.gameId,
        market=item.type or "spread",
        ts=parse_reference_date(item.date),
        home=item.home,
        away=item.away,
        home_odds=item.homeOdds,
        away_odds=item.awayOdds,
        odds_format="american",
        status="suspended" if item.isOpen is False else "open",
    )


def game_from_submission(submission: GameSubmission, context: Context) -> Game:
    # Re-typed as the plain event so every consumer decodes exactly what it expects.
    return Game(**{name: getattr(submission, name) for name in Game.__struct_fields__})


def validate_odds(body: bytes, context: Context) -> list[OddsUpdate]:
    return _validate_batch(body, OddsBatch, "updates", OddsSubmission, odds_from_submission, context)


def validate_reference_feed(body: bytes, context: Context) -> list[OddsUpdate]:
    return _validate_batch(body, ReferenceFeed, "odds", ReferenceOdds, odds_from_reference, context)


def validate_games(body: bytes, context: Context) -> list[Game]:
    return _validate_batch(body, GamesBatch, "games", GameSubmission, game_from_submission, context)
