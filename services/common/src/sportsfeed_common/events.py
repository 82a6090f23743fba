"""The event schemas of DESIGN.md, as typed, validated msgspec structs.

Events are decoded and validated once, at the edge, into these structs; code
inside a service passes the structs around and encodes once on the way out.
Fields are snake_case in Python and camelCase on the wire.

Rules that involve more than one field (odds valid for their format, a draw
price for three-way markets) live in ``__post_init__``; their messages start
with the wire name of the field at fault, so :func:`explain_error` can report
``(path, field, reason)`` for any refusal.
"""

from __future__ import annotations

import hashlib
import math
import re
from datetime import datetime
from itertools import pairwise
from typing import Annotated, Any, Literal, TypeVar

import msgspec

from .ids import GameId, Market, ProviderId, Sport, whole
from .times import epoch_millis, platform_time, to_millisecond

# Free text reaches analysts' screens and logs: no control characters (C0, DEL, C1), no line or
# paragraph separators, and no bidirectional controls, which can make a name display as another.
Text = Annotated[str, msgspec.Meta(min_length=1, max_length=200, pattern=whole(
    r"[^\x00-\x1f\x7f-\x9f\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]+"))]
UtcTime = Annotated[datetime, msgspec.Meta(tz=True)]
EpochMillis = Annotated[int, msgspec.Meta(ge=0)]
# Lines (spread points, totals) are small numbers; a bound also refuses Infinity.
Line = Annotated[float, msgspec.Meta(ge=-1000, le=1000)]
# Any real price, American or decimal, is far inside this; the format rules are in OddsUpdate.
Price = Annotated[float, msgspec.Meta(ge=-1_000_000, le=1_000_000)]

OddsFormat = Literal["american", "decimal"]
MarketStatus = Literal["open", "suspended", "closed"]
GameStatus = Literal["scheduled", "live", "finished", "cancelled"]
AlertKind = Literal["movement", "stale", "provider_down", "provider_up", "suspended", "rate_low"]
Severity = Literal["info", "warning", "critical"]

# Markets with a draw outcome need a draw price.
THREE_WAY_MARKETS = frozenset({"1x2"})


class Event(msgspec.Struct, rename="camel", kw_only=True):
    """Base of every wire event: camelCase on the wire.

    Subclasses repeat ``kw_only=True`` (msgspec does not inherit it) so required
    fields may follow defaulted ones.
    """


class Trace(Event, kw_only=True):
    """Epoch-millisecond stamps added at every hop, for end-to-end latency."""

    ingested_at: EpochMillis | None = None
    processed_at: EpochMillis | None = None
    pushed_at: EpochMillis | None = None


def hop_durations(ingested_at: float | None, processed_at: float | None, pushed_at: float | None,
                  received_at: float) -> dict[str, float]:
    """Time in each hop whose two stamps are known, ingest to receipt, in pipeline order
    (``"ingested->processed"`` ... ``"pushed->received"``; a missing stamp merges its two hops)."""
    stamps = [("ingested", ingested_at), ("processed", processed_at), ("pushed", pushed_at), ("received", received_at)]
    known = [(name, stamp) for name, stamp in stamps if stamp is not None]
    return {f"{before}->{after}": end - start for (before, start), (after, end) in pairwise(known)}


def update_id(provider: str, game_id: str, market: str, ts: datetime) -> str:
    """Deterministic id: the same provider, game, market and time is the same update.

    A provider's retry or a replay therefore produces the same id, which is
    what makes storage and sequencing idempotent downstream.
    """
    key = f"{provider}\x1f{game_id}\x1f{market}\x1f{epoch_millis(to_millisecond(ts))}"
    return hashlib.blake2b(key.encode(), digest_size=16).hexdigest()


# A price's rules by its format; _check_price enforces them and price_schema states them for /openapi.json.
AMERICAN_ODDS_MIN = 100  # American odds are <= -100 or >= +100
DECIMAL_ODDS_ABOVE = 1.0  # decimal odds are greater than 1.0


def _check_price(field: str, value: float | None, odds_format: str) -> None:
    if value is None:
        return
    if not math.isfinite(value):
        raise ValueError(f"{field}: must be a finite number")
    if odds_format == "american":
        if -AMERICAN_ODDS_MIN < value < AMERICAN_ODDS_MIN:
            raise ValueError(f"{field}: American odds must be <= -100 or >= +100, got {value:g}")
    elif value <= DECIMAL_ODDS_ABOVE:
        raise ValueError(f"{field}: decimal odds must be greater than 1.0, got {value:g}")


def price_schema(odds_format: OddsFormat) -> dict[str, Any]:
    """The JSON Schema of :func:`_check_price`'s rule for one format (a null price passes, as there)."""
    if odds_format == "american":
        return {"anyOf": [{"maximum": -AMERICAN_ODDS_MIN}, {"minimum": AMERICAN_ODDS_MIN}]}
    return {"exclusiveMinimum": DECIMAL_ODDS_ABOVE}


def odds_rules_schema(format_field: str | None, market_field: str = "market",
                      draw_field: str | None = "drawOdds") -> dict[str, Any]:
    """JSON Schema of OddsUpdate's cross-field rules over an object with camelCase price fields.

    ``format_field`` names the odds-format field (american when absent); None: the object is always
    american. Without a ``draw_field`` a three-way market cannot be priced at all.
    """
    prices = ("homeOdds", "awayOdds", *([draw_field] if draw_field else []))

    def priced(odds_format: OddsFormat, **extra: dict[str, Any]) -> dict[str, Any]:
        return {"properties": {**{name: price_schema(odds_format) for name in prices}, **extra}}

    if format_field is None:
        by_format = priced("american")
    else:
        by_format = {"anyOf": [
            {**priced("decimal", **{format_field: {"const": "decimal"}}), "required": [format_field]},
            priced("american", **{format_field: {"const": "american"}}),
        ]}
    two_way = {"properties": {market_field: {"not": {"enum": sorted(THREE_WAY_MARKETS)}}}}
    if draw_field is None:
        return {"allOf": [by_format, two_way]}
    draw_priced = {"required": [draw_field], "properties": {draw_field: {"type": "number"}}}
    return {"allOf": [by_format, {"anyOf": [two_way, draw_priced]}]}


class OddsPrice(Event, kw_only=True):
    """The fields every shape of an odds update shares, in wire order: what a provider prices.

    The event, a provider's submission (``sportsfeed_ingest.payloads``) and the
    stored form the read API answers with (``sportsfeed_common.items``) all
    derive from it, so the list and its constraints (which also make the
    OpenAPI schemas) are written once.
    """

    provider: ProviderId
    game_id: GameId
    market: Market
    ts: UtcTime
    home: Line | None = None
    away: Line | None = None
    home_odds: Price
    away_odds: Price
    draw_odds: Price | None = None
    odds_format: OddsFormat = "american"
    status: MarketStatus = "open"


class IdentifiedOdds(OddsPrice):
    """An OddsPrice with its deterministic ``id``.

    Not ``kw_only``: msgspec puts positional fields before keyword-only ones,
    so ``id`` leads on the wire, before the inherited fields, as it always has.
    """

    id: str = ""


class OddsUpdate(IdentifiedOdds, kw_only=True):
    """One provider's price for one market of one game at one time."""

    received_at: UtcTime | None = None
    trace: Trace = msgspec.field(default_factory=Trace)

    def __post_init__(self) -> None:
        self.ts = platform_time("ts", self.ts)
        if self.received_at is not None:
            self.received_at = platform_time("receivedAt", self.received_at)
        for name in ("home", "away"):
            value = getattr(self, name)
            if value is not None and not math.isfinite(value):
                raise ValueError(f"{name}: must be a finite number")
        _check_price("homeOdds", self.home_odds, self.odds_format)
        _check_price("awayOdds", self.away_odds, self.odds_format)
        _check_price("drawOdds", self.draw_odds, self.odds_format)
        if self.market in THREE_WAY_MARKETS and self.draw_odds is None:
            raise ValueError(f"drawOdds: required for the three-way market {self.market!r}")
        expected_id = update_id(self.provider, self.game_id, self.market, self.ts)
        if not self.id:
            self.id = expected_id
        elif self.id != expected_id:
            raise ValueError("id: does not match provider, gameId, market and ts")


class Game(Event, kw_only=True):
    """Game details; the latest value per gameId lives on the compacted `games` topic."""

    game_id: GameId
    sport: Sport
    name: Text
    home_team: Text
    away_team: Text
    venue: Text | None = None
    game_date: UtcTime
    status: GameStatus = "scheduled"

    def __post_init__(self) -> None:
        self.game_date = platform_time("gameDate", self.game_date)


class PriceChange(Event, kw_only=True):
    """Change against the previous price of the same game, provider and market."""

    home_odds: float = 0.0
    away_odds: float = 0.0
    draw_odds: float | None = None
    home: float | None = None
    away: float | None = None


class ImpliedProbabilities(Event, kw_only=True):
    """Implied probability of each outcome (0..1), before removing the bookmaker's margin."""

    home: float
    away: float
    draw: float | None = None


class LiveUpdate(OddsUpdate, kw_only=True):
    """An OddsUpdate as pushed to analysts: sequenced and analysed.

    ``game_id``, ``away``, ``home``, ``away_odds``, ``home_odds`` come from the
    update itself; ``date`` keeps the reference's meaning (server ingest time,
    epoch seconds), so a client written for the reference reads the same six
    fields.
    """

    seq: Annotated[int, msgspec.Meta(ge=1)]
    change: PriceChange | None = None
    implied: ImpliedProbabilities
    movement: bool = False
    date: Annotated[int, msgspec.Meta(ge=0)]


class AlertDetails(Event, kw_only=True):
    """Base of an alert's ``details``: one struct per kind, camelCase on the wire like the events.

    Times in details are ISO-8601 text as the stream processor has always
    written them (``...+00:00``), kept as text so the JSON does not change.
    """


class MovementDetails(AlertDetails, kw_only=True):
    market: Market
    seq: int
    shift: float  # change in implied probability, 0..1
    home_odds: float
    away_odds: float


class SuspendedDetails(AlertDetails, kw_only=True):
    market: Market
    seq: int
    status: MarketStatus
    previous_status: MarketStatus


class StaleDetails(AlertDetails, kw_only=True):
    """A game went quiet (``cleared`` false, with how long) or is updating again (``cleared`` true, alone)."""

    cleared: bool = False
    quiet_seconds: int | msgspec.UnsetType = msgspec.UNSET
    last_update_at: str | msgspec.UnsetType = msgspec.UNSET


class ProviderDownDetails(AlertDetails, kw_only=True):
    quiet_seconds: int
    last_seen_at: str


class ProviderUpDetails(AlertDetails, kw_only=True):
    """Nothing to add: ``{}``."""


class RateLowDetails(AlertDetails, kw_only=True):
    minute: str  # the completed minute judged
    count: int
    threshold: int


class Alert(Event, kw_only=True, tag_field="kind"):
    """Something an analyst or operator must know about now.

    One subclass per ``kind``, each with its own typed ``details``; ``kind`` is
    their msgspec tag, so it stays the first field on the wire. Decode with
    :func:`decode_alert` (or the :data:`AnyAlert` union), which picks the
    subclass by ``kind``.
    """

    game_id: GameId | None = None
    provider: ProviderId | None = None
    severity: Severity = "warning"
    message: Annotated[str, msgspec.Meta(min_length=1, max_length=1000)]
    at: UtcTime

    @property
    def kind(self) -> AlertKind:
        return self.__struct_config__.tag  # type: ignore[return-value]

    def __post_init__(self) -> None:
        self.at = platform_time("at", self.at)
        if self.game_id is None and self.provider is None:
            raise ValueError("gameId: an alert names a gameId, a provider, or both")


class MovementAlert(Alert, kw_only=True, tag="movement"):
    details: MovementDetails


class SuspendedAlert(Alert, kw_only=True, tag="suspended"):
    details: SuspendedDetails


class StaleAlert(Alert, kw_only=True, tag="stale"):
    details: StaleDetails = msgspec.field(default_factory=StaleDetails)


class ProviderDownAlert(Alert, kw_only=True, tag="provider_down"):
    details: ProviderDownDetails


class ProviderUpAlert(Alert, kw_only=True, tag="provider_up"):
    details: ProviderUpDetails = msgspec.field(default_factory=ProviderUpDetails)


class RateLowAlert(Alert, kw_only=True, tag="rate_low"):
    details: RateLowDetails


AnyAlert = MovementAlert | SuspendedAlert | StaleAlert | ProviderDownAlert | ProviderUpAlert | RateLowAlert


EventT = TypeVar("EventT", bound=Event)


class InvalidEvent(ValueError):
    """An event failed to decode or validate.

    ``path`` is the JSON path of the offending item or value (``$[3].homeOdds``),
    ``index`` the position in a batch when there is one, ``field`` the wire
    name of the field at fault (or ``None`` for the whole document), ``reason``
    a sentence for a human.
    """

    def __init__(self, path: str, index: int | None, field: str | None, reason: str) -> None:
        super().__init__(f"{field or path}: {reason}")
        self.path = path
        self.index = index
        self.field = field
        self.reason = reason


def explain_error(error: msgspec.MsgspecError) -> InvalidEvent:
    """Turn a msgspec error into ``(path, index, field, reason)``."""
    # Show patterns as a reader knows them; the trailing-newline guard is an implementation detail.
    message = str(error).replace("$(?!\n)", "$")
    located = re.fullmatch(r"(.*) - at `(\$[^`]*)`", message, flags=re.DOTALL)
    reason, path = (located.group(1), located.group(2)) if located else (message, "$")
    index_match = re.match(r"\$(?:\.\w+)?\[(\d+)\]", path)
    index = int(index_match.group(1)) if index_match else None
    field_match = re.search(r"\.(\w+)$", path)
    field = field_match.group(1) if field_match else None
    missing = re.fullmatch(r"Object missing required field `(\w+)`", reason)
    if missing:
        field, reason = missing.group(1), "required field is missing"
    unknown = re.fullmatch(r"Object contains unknown field `(\w+)`", reason)
    if unknown:
        field, reason = unknown.group(1), "unknown field"
    prefixed = re.fullmatch(r"(\w+): (.*)", reason, flags=re.DOTALL)
    if prefixed and field is None:
        field, reason = prefixed.group(1), prefixed.group(2)
    return InvalidEvent(path, index, field, reason)


def decode(data: bytes | str, event_type: type[EventT]) -> EventT:
    """Decode and validate one JSON event; raises :class:`InvalidEvent`."""
    try:
        return msgspec.json.decode(data, type=event_type)
    except msgspec.MsgspecError as error:
        raise explain_error(error) from None


def convert(value: Any, event_type: type[EventT]) -> EventT:
    """Validate an already-parsed JSON value (for example one item of a batch)."""
    try:
        return msgspec.convert(value, event_type)
    except msgspec.MsgspecError as error:
        raise explain_error(error) from None


def decode_alert(data: bytes | str) -> Alert:
    """Decode and validate an alert of any kind into the struct of its kind; raises :class:`InvalidEvent`."""
    try:
        return msgspec.json.decode(data, type=AnyAlert)
    except msgspec.MsgspecError as error:
        raise explain_error(error) from None


def encode(event: Event) -> bytes:
    return msgspec.json.encode(event)
