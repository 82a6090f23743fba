"""Event schemas: what is valid round-trips in camelCase; what is not is refused naming the field."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import msgspec
import pytest
from sportsfeed_common.events import (
    AnyAlert,
    Game,
    ImpliedProbabilities,
    InvalidEvent,
    LiveUpdate,
    OddsUpdate,
    convert,
    decode,
    encode,
    explain_error,
    update_id,
)


def odds(**overrides: Any) -> dict[str, Any]:
    item = {
        "provider": "acme",
        "gameId": "game-2957FB14-2939-4A7C-BC54-331D65EE7D58",
        "market": "spread",
        "ts": "2026-11-23T10:15:30.123Z",
        "home": -3.5,
        "away": 3.5,
        "homeOdds": -110,
        "awayOdds": 120,
    }
    item.update(overrides)
    return item


def test_odds_update_round_trips_in_camel_case() -> None:
    update = convert(odds(), OddsUpdate)
    assert update.game_id == "game-2957FB14-2939-4A7C-BC54-331D65EE7D58"
    assert update.ts == datetime(2026, 11, 23, 10, 15, 30, 123000, tzinfo=UTC)
    wire = msgspec.json.decode(encode(update))
    assert wire["gameId"] == update.game_id
    assert wire["homeOdds"] == -110
    assert wire["oddsFormat"] == "american"
    assert wire["status"] == "open"
    assert decode(encode(update), OddsUpdate) == update


def test_time_is_normalised_to_utc_milliseconds() -> None:
    update = convert(odds(ts="2026-11-23T11:15:30.123999+01:00"), OddsUpdate)
    assert update.ts == datetime(2026, 11, 23, 10, 15, 30, 123000, tzinfo=UTC)


def test_update_id_is_deterministic() -> None:
    first = convert(odds(), OddsUpdate)
    retry = convert(odds(homeOdds=-115), OddsUpdate)  # same provider, game, market and time
    assert first.id == retry.id
    later = convert(odds(ts="2026-11-23T10:15:30.124Z"), OddsUpdate)
    other_market = convert(odds(market="total"), OddsUpdate)
    assert len({first.id, later.id, other_market.id}) == 3
    assert first.id == update_id(first.provider, first.game_id, first.market, first.ts)


def test_a_forged_id_is_refused() -> None:
    with pytest.raises(InvalidEvent) as refused:
        convert(odds(id="not-the-right-id"), OddsUpdate)
    assert refused.value.field == "id"


@pytest.mark.parametrize(
    ("overrides", "field", "reason"),
    [
        ({"homeOdds": -99}, "homeOdds", "American odds must be <= -100 or >= +100"),
        ({"awayOdds": 0}, "awayOdds", "American odds"),
        ({"homeOdds": 1.0, "awayOdds": 2.5, "oddsFormat": "decimal"}, "homeOdds", "greater than 1.0"),
        ({"homeOdds": -2.0, "awayOdds": 2.5, "oddsFormat": "decimal"}, "homeOdds", "greater than 1.0"),
        ({"homeOdds": "-110"}, "homeOdds", "Expected `float`, got `str`"),
        ({"homeOdds": True}, "homeOdds", "got `bool`"),
        ({"homeOdds": 1e300}, "homeOdds", "<= 1000000"),
        ({"home": 5000}, "home", "<= 1000"),
        ({"market": "1x2"}, "drawOdds", "required for the three-way market"),
        ({"oddsFormat": "fractional"}, "oddsFormat", "Invalid enum value"),
        ({"status": "paused"}, "status", "Invalid enum value"),
        ({"provider": "Acme Co"}, "provider", "regex"),
        ({"provider": "a" * 65}, "provider", "regex"),
        ({"gameId": "12345"}, "gameId", "regex"),
        ({"gameId": "game-a#b"}, "gameId", "regex"),
        ({"market": "spread\n"}, "market", "regex"),
        ({"provider": "acme\n"}, "provider", "regex"),
        ({"gameId": "game-1\n"}, "gameId", "regex"),
        ({"ts": "2026-11-23T10:15:30"}, "ts", "timezone"),
        ({"ts": "yesterday"}, "ts", "Invalid RFC3339"),
        ({"ts": 1700000000}, "ts", "Expected `datetime`"),
        ({"ts": "0001-01-01T00:00:00+03:00"}, "ts", "out of range"),
        ({"ts": "1969-12-31T23:59:59.999Z"}, "ts", "before 1970"),
        ({"receivedAt": "0001-01-01T00:00:00+14:00"}, "receivedAt", "out of range"),
    ],
)
def test_invalid_odds_are_refused_naming_the_field(
    overrides: dict[str, Any], field: str, reason: str
) -> None:
    with pytest.raises(InvalidEvent) as refused:
        convert(odds(**overrides), OddsUpdate)
    assert refused.value.field == field
    assert reason in refused.value.reason


@pytest.mark.parametrize("missing", ["provider", "gameId", "market", "ts", "homeOdds", "awayOdds"])
def test_missing_required_fields_are_named(missing: str) -> None:
    item = odds()
    del item[missing]
    with pytest.raises(InvalidEvent) as refused:
        convert(item, OddsUpdate)
    assert refused.value.field == missing
    assert refused.value.reason == "required field is missing"


@pytest.mark.parametrize("literal", [b"NaN", b"Infinity", b"-Infinity", b"1e999"])
def test_non_finite_numbers_never_pass(literal: bytes) -> None:
    document = encode(convert(odds(), OddsUpdate)).replace(b'"homeOdds":-110.0', b'"homeOdds":' + literal)
    assert literal in document
    with pytest.raises(InvalidEvent):
        decode(document, OddsUpdate)


def test_errors_in_a_batch_carry_the_item_index() -> None:
    batch = [odds(), odds(), odds(awayOdds=50)]
    try:
        msgspec.convert(batch, list[OddsUpdate])
    except msgspec.ValidationError as error:
        explained = explain_error(error)
    else:
        pytest.fail("the invalid third item was accepted")
    assert (explained.index, explained.field) == (2, "awayOdds")


@pytest.mark.parametrize(
    ("document", "reason"),
    [(b'{"provider": "acme",', "truncated"), (b'{"provider" "acme"}', "malformed"), (b"", "truncated")],
)
def test_malformed_json_is_reported_for_the_whole_document(document: bytes, reason: str) -> None:
    with pytest.raises(InvalidEvent) as refused:
        decode(document, OddsUpdate)
    assert refused.value.field is None
    assert reason in refused.value.reason


def test_three_way_market_with_draw_price() -> None:
    update = convert(
        odds(market="1x2", oddsFormat="decimal", homeOdds=2.1, awayOdds=3.4, drawOdds=3.2), OddsUpdate
    )
    assert update.draw_odds == 3.2


def test_game_schema() -> None:
    game = convert(
        {
            "gameId": "game-CC39FC2A-8CD7-44F7-91EA-585D441BDDAF",
            "sport": "soccer",
            "name": "World Cup Qualifier",
            "homeTeam": "England",
            "awayTeam": "Hungary",
            "venue": "Wembley Stadium",
            "gameDate": "2026-11-30T19:45:00Z",
        },
        Game,
    )
    assert game.status == "scheduled"
    with pytest.raises(InvalidEvent) as refused:
        convert({**msgspec.to_builtins(game), "status": "postponed"}, Game)
    assert refused.value.field == "status"


def test_live_update_carries_the_reference_push_fields() -> None:
    update = convert(odds(), OddsUpdate)
    live = LiveUpdate(
        **{name: getattr(update, name) for name in OddsUpdate.__struct_fields__},
        seq=1,
        implied=ImpliedProbabilities(home=0.5238, away=0.4545),
        date=1_795_414_729,
    )
    wire = msgspec.json.decode(encode(live))
    for name in ("gameId", "away", "home", "awayOdds", "homeOdds", "date"):
        assert name in wire
    assert wire["seq"] == 1
    with pytest.raises(InvalidEvent) as refused:
        convert({**wire, "seq": 0}, LiveUpdate)
    assert refused.value.field == "seq"


def test_alert_names_a_game_or_a_provider() -> None:
    alert = convert({"kind": "stale", "gameId": "game-1", "message": "no update for 30s", "at": "2026-11-23T10:00:00Z"}, AnyAlert)
    assert alert.severity == "warning"
    with pytest.raises(InvalidEvent) as refused:
        convert({"kind": "stale", "message": "no update", "at": "2026-11-23T10:00:00Z"}, AnyAlert)
    assert refused.value.field == "gameId"
    with pytest.raises(InvalidEvent) as refused:
        convert({"kind": "boom", "gameId": "game-1", "message": "x", "at": "2026-11-23T10:00:00Z"}, AnyAlert)
    assert refused.value.field == "kind"
