"""The bad-input catalogue against ingest, on real Kafka and Redis.

Every hostile input gets its specified answer (DESIGN.md, docs/ingest.md): 400 for a body that is
not JSON this server reads, 413 for a request too large, 422 with one error per bad item naming
its field. After each refusal a valid batch is still answered 202 and only it reaches odds.raw
(``assert_refused_and_nothing_reached_kafka``); the last test checks that no request of this
module got a 5xx.
"""

from __future__ import annotations

import io
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import msgspec
import pytest
from aiohttp.test_utils import TestClient

from ..ingest_support import (
    ACME,
    accepted,
    assert_refused_and_nothing_reached_kafka,
    ingest_settings,
    new_game,
    odds_item,
    start_client,
    valid_batch,
)
from ..kafka_watch import TopicWatch

pytestmark = pytest.mark.integration

RAW = "__raw__"


def item(**overrides: Any) -> dict[str, Any]:
    """A valid update of a game of its own, but for ``overrides``."""
    return {**odds_item(new_game(), datetime.now(UTC) - timedelta(seconds=1)), **overrides}


def batch_with_raw(field: str, raw: str) -> bytes:
    """A one-item batch whose ``field`` is the JSON text ``raw``, exactly as written (1e999, NaN...)."""
    return msgspec.json.encode({"updates": [item(**{field: RAW})]}).replace(f'"{RAW}"'.encode(), raw.encode())


async def refused_item(service: TestClient, topic: TopicWatch, body: dict[str, Any] | bytes,
                       path: str = "/v1/odds", method: str = "post") -> dict[str, Any]:
    """Send a one-item body; it must be 422 with exactly one error, for item 0. Returns that error."""
    send = getattr(service, method)
    options = {"data": body} if isinstance(body, bytes) else {"json": body}
    refused = await assert_refused_and_nothing_reached_kafka(
        service, topic, lambda: send(path, headers=ACME, **options), 422, "invalid_items"
    )
    (error,) = refused["body"]["errors"]
    assert error["index"] == 0, error
    return error


# --- NaN, Infinity and numbers out of range ---------------------------------------------------


@pytest.mark.parametrize(
    ("field", "raw", "reason"),
    [("homeOdds", "1e999", "<= 1000000"), ("homeOdds", "-1e999", ">= -1000000"), ("awayOdds", "1E400", "<= 1000000"),
     ("homeOdds", "1e308", "<= 1000000"), ("homeOdds", "1" + "0" * 400, "out of range"),
     ("home", "1e999", "<= 1000"), ("away", "-1e999", ">= -1000")],
    ids=["homeOdds-1e999", "homeOdds-minus-1e999", "awayOdds-1E400", "homeOdds-1e308", "homeOdds-401-digit-integer",
         "home-line-1e999", "away-line-minus-1e999"],
)
async def test_infinite_or_overflowing_numbers_are_422_naming_the_field(client, odds_raw, field, raw, reason) -> None:
    error = await refused_item(client, odds_raw, batch_with_raw(field, raw))
    assert error["field"] == field and reason in error["reason"], error


async def test_an_overflowing_reference_date_is_422_naming_date(client, odds_raw) -> None:
    body = (b'{"odds": [{"gameId": "' + new_game().encode()
            + b'", "date": 1e999, "away": -4, "home": 1, "awayOdds": -110, "homeOdds": -110}]}')
    error = await refused_item(client, odds_raw, body, path="/feeds", method="put")
    assert error["field"] == "date" and "<=" in error["reason"], error


@pytest.mark.parametrize("raw", ["NaN", "Infinity", "-Infinity", "nan", "inf"])
async def test_nan_and_infinity_literals_are_not_json_and_are_400(client, odds_raw, raw) -> None:
    await assert_refused_and_nothing_reached_kafka(
        client, odds_raw, lambda: client.post("/v1/odds", data=batch_with_raw("homeOdds", raw), headers=ACME),
        400, "malformed_json",
    )


@pytest.mark.parametrize("value", ["NaN", "Infinity", "-Infinity", "inf", "1e999", "-110"])
async def test_nan_infinity_and_numbers_as_strings_are_422_expected_float(client, odds_raw, value) -> None:
    error = await refused_item(client, odds_raw, {"updates": [item(homeOdds=value)]})
    assert error["field"] == "homeOdds" and "Expected `float`, got `str`" in error["reason"], error


# --- zero, negative and impossible odds -------------------------------------------------------


@pytest.mark.parametrize(
    ("overrides", "reason"),
    [({"homeOdds": 0}, "American odds must be <= -100 or >= +100"),
     ({"homeOdds": 99.5}, "American odds must be <= -100 or >= +100"),
     ({"homeOdds": -99.99}, "American odds must be <= -100 or >= +100"),
     ({"oddsFormat": "decimal", "homeOdds": 0, "awayOdds": 2.0}, "decimal odds must be greater than 1.0"),
     ({"oddsFormat": "decimal", "homeOdds": 1.0, "awayOdds": 2.0}, "decimal odds must be greater than 1.0"),
     ({"oddsFormat": "decimal", "homeOdds": 0.5, "awayOdds": 2.0}, "decimal odds must be greater than 1.0"),
     ({"oddsFormat": "decimal", "homeOdds": -2.5, "awayOdds": 2.0}, "decimal odds must be greater than 1.0"),
     ({"oddsFormat": "decimal", "homeOdds": -1e-9, "awayOdds": 2.0}, "decimal odds must be greater than 1.0")],
    ids=["american-0", "american-99.5", "american-minus-99.99", "decimal-0", "decimal-1.0", "decimal-0.5",
         "decimal-minus-2.5", "decimal-tiny-negative"],
)
async def test_zero_negative_and_impossible_odds_are_422_naming_homeOdds(client, odds_raw, overrides, reason) -> None:
    error = await refused_item(client, odds_raw, {"updates": [item(**overrides)]})
    assert error["field"] == "homeOdds" and reason in error["reason"], error


# --- dates ------------------------------------------------------------------------------------


def _in_years(years: int) -> str:
    return (datetime.now(UTC) + timedelta(days=365 * years)).isoformat().replace("+00:00", "Z")


@pytest.mark.parametrize(
    ("ts", "reason"),
    [(_in_years(1), "ahead of the server clock"), (_in_years(50), "ahead of the server clock"),
     ("9999-12-31T23:59:59.999Z", "ahead of the server clock"), ("10000-01-01T00:00:00Z", "Invalid RFC3339"),
     ("1969-12-31T23:59:59.999Z", "must not be before 1970-01-01"), ("0001-01-01T00:00:00Z", "must not be before 1970"),
     ("2025-02-30T12:00:00Z", "Invalid RFC3339"), ("2025-01-01T25:00:00Z", "Invalid RFC3339"),
     ("2025-01-01T12:00:00", "timezone"), ("", "Invalid RFC3339"), ("yesterday", "Invalid RFC3339"),
     (1_763_900_000, "Expected `datetime`, got `int`")],
    ids=["one-year-ahead", "fifty-years-ahead", "year-9999", "year-10000", "just-before-1970", "year-1",
         "february-30", "hour-25", "no-time-zone", "empty", "a-word", "epoch-number"],
)
async def test_far_future_far_past_and_impossible_dates_are_422_naming_ts(client, odds_raw, ts, reason) -> None:
    error = await refused_item(client, odds_raw, {"updates": [item(ts=ts)]})
    assert error["field"] == "ts" and reason in error["reason"], error


@pytest.mark.parametrize("game_date", ["1900-01-01T00:00:00Z", "10000-01-01T00:00:00Z", "2026-13-01T00:00:00Z"],
                         ids=["year-1900", "year-10000", "month-13"])
async def test_impossible_game_dates_are_422_naming_gameDate(client, odds_raw, game_date) -> None:
    game = {"gameId": new_game(), "sport": "soccer", "name": "A v B", "homeTeam": "A", "awayTeam": "B",
            "gameDate": game_date}
    error = await refused_item(client, odds_raw, {"games": [game]}, path="/v1/games", method="put")
    assert error["field"] == "gameDate", error


# --- unicode and control characters -----------------------------------------------------------

HOSTILE_TEXT = {
    "nul": "a\u0000b", "newline": "a\nb", "escape": "a\u001bb", "c1-next-line": "a\u0085b",
    "right-to-left-override": "a\u202eb", "line-separator": "a\u2028b", "emoji": "a\U0001f4a5b", "long": "a" * 300,
}


@pytest.mark.parametrize("field", ["gameId", "market", "provider"])
@pytest.mark.parametrize("text", list(HOSTILE_TEXT))
async def test_unicode_and_control_characters_in_ids_are_422_naming_the_field(client, odds_raw, field, text) -> None:
    value = HOSTILE_TEXT[text] if field != "gameId" else f"game-{HOSTILE_TEXT[text]}"
    error = await refused_item(client, odds_raw, {"updates": [item(**{field: value})]})
    assert error["field"] == field, error


@pytest.mark.parametrize("field", ["name", "homeTeam", "venue"])
@pytest.mark.parametrize("text", [t for t in HOSTILE_TEXT if t != "emoji"])
async def test_control_characters_in_game_text_are_422_naming_the_field(client, odds_raw, field, text) -> None:
    game = {"gameId": new_game(), "sport": "soccer", "name": "A v B", "homeTeam": "A", "awayTeam": "B",
            "gameDate": "2026-12-01T19:45:00Z", field: HOSTILE_TEXT[text]}
    error = await refused_item(client, odds_raw, {"games": [game]}, path="/v1/games", method="put")
    assert error["field"] == field, error


async def test_printable_unicode_in_game_text_is_202(client) -> None:
    game = {"gameId": new_game(), "sport": "soccer", "name": "Atlético \U0001f4a5 München", "homeTeam": "東京",
            "awayTeam": "Ελλάδα", "venue": "Estádio do Dragão", "gameDate": "2026-12-01T19:45:00Z"}
    await accepted(await client.put("/v1/games", json={"games": [game]}, headers=ACME))


@pytest.mark.parametrize(
    "data",
    [b'{"updates": [{"gameId": "game-\\ud800"}]}', b'{"updates": [{"gameId": "game-\\udc00x"}]}'],
    ids=["lone-high-surrogate", "lone-low-surrogate"],
)
async def test_lone_surrogate_escapes_are_not_json_and_are_400(client, odds_raw, data) -> None:
    await assert_refused_and_nothing_reached_kafka(
        client, odds_raw, lambda: client.post("/v1/odds", data=data, headers=ACME), 400, "malformed_json"
    )


# --- wrong JSON types -------------------------------------------------------------------------


WRONG_TYPES = [
    ("homeOdds", "-110", "Expected `float`, got `str`"), ("awayOdds", None, "Expected `float`, got `null`"),
    ("homeOdds", [-110], "Expected `float`, got `array`"), ("homeOdds", {"american": -110}, "got `object`"),
    ("homeOdds", True, "Expected `float`, got `bool`"), ("home", "3.5", "got `str`"),
    ("gameId", 12345, "Expected `str`, got `int`"), ("gameId", None, "Expected `str`, got `null`"),
    ("market", ["spread"], "Expected `str`, got `array`"), ("market", {"name": "spread"}, "got `object`"),
    ("provider", 7, "got `int`"), ("status", True, "Expected `str`, got `bool`"),
    ("status", "paused", "Invalid enum value"), ("oddsFormat", "fractional", "Invalid enum value"),
    ("ts", None, "Expected `datetime`, got `null`"), ("ts", {"epoch": 1}, "got `object`"),
    ("drawOdds", "2.5", "Expected `float | null`, got `str`"),
]


@pytest.mark.parametrize(("field", "value", "reason"), WRONG_TYPES,
                         ids=[f"{field}={msgspec.json.encode(value).decode()}" for field, value, _ in WRONG_TYPES])
async def test_wrong_json_types_are_422_naming_the_field(client, odds_raw, field, value, reason) -> None:
    error = await refused_item(client, odds_raw, {"updates": [item(**{field: value})]})
    assert error["field"] == field and reason in error["reason"], error


@pytest.mark.parametrize("value", [1, "update", None, [], True], ids=["number", "string", "null", "array", "bool"])
async def test_an_item_that_is_not_an_object_is_422_for_that_item(client, odds_raw, value) -> None:
    error = await refused_item(client, odds_raw, {"updates": [value]})
    assert "Expected `object`" in error["reason"], error


@pytest.mark.parametrize("value", ["1", 1, None, "[]"], ids=["string", "number", "null", "string-of-a-list"])
async def test_updates_of_the_wrong_type_are_422_naming_updates(client, odds_raw, value) -> None:
    refused = await assert_refused_and_nothing_reached_kafka(
        client, odds_raw, lambda: client.post("/v1/odds", json={"updates": value}, headers=ACME), 422, "invalid_items"
    )
    assert [(e["index"], e["field"]) for e in refused["body"]["errors"]] == [(None, "updates")]


# --- size and shape -----------------------------------------------------------------------------


def ten_thousand_items() -> io.BytesIO:
    """A batch of 10,000 valid updates (about 1.5 MB), as a stream: aiohttp's way for large bodies."""
    game, now = new_game(), datetime.now(UTC)
    batch = {"updates": [odds_item(game, now - timedelta(milliseconds=n)) for n in range(10_000)]}
    return io.BytesIO(msgspec.json.encode(batch))


async def test_a_10000_item_batch_is_413_by_its_size(client, odds_raw) -> None:
    refused = await assert_refused_and_nothing_reached_kafka(
        client, odds_raw, lambda: client.post("/v1/odds", data=ten_thousand_items(), headers=ACME),
        413, "payload_too_large",
    )
    assert "bytes" in refused["body"]["message"]


@pytest.fixture(scope="module")
async def roomy_client(servers) -> AsyncIterator[TestClient]:
    """Ingest with a body limit large enough that 10,000 items reach the item count check."""
    test_client = await start_client(ingest_settings(servers, MAX_BODY_BYTES=str(16 * 1024 * 1024)))
    yield test_client
    await test_client.close()


async def test_a_10000_item_batch_within_the_body_limit_is_413_by_its_item_count(roomy_client, odds_raw) -> None:
    refused = await assert_refused_and_nothing_reached_kafka(
        roomy_client, odds_raw, lambda: roomy_client.post("/v1/odds", data=ten_thousand_items(), headers=ACME),
        413, "payload_too_large",
    )
    assert "10000 items" in refused["body"]["message"] and "at most 500" in refused["body"]["message"]


@pytest.mark.parametrize(
    "data",
    [b'{"updates": ' + b"[" * 5000 + b"]" * 5000 + b"}", b"[" * 5000 + b"]" * 5000,
     b'{"updates": [' + b'{"a": ' * 5000 + b"1" + b"}" * 5000 + b"]}",
     b'{"updates": [{"gameId": "game-1", "x": ' + b"[" * 5000 + b"]" * 5000 + b"}]}"],
    ids=["updates-5000-deep", "array-5000-deep", "item-objects-5000-deep", "unknown-field-5000-deep"],
)
async def test_json_nested_too_deeply_is_400(client, odds_raw, data) -> None:
    refused = await assert_refused_and_nothing_reached_kafka(
        client, odds_raw, lambda: client.post("/v1/odds", data=data, headers=ACME), 400, "malformed_json"
    )
    assert "nested too deeply" in refused["body"]["message"]


async def test_a_deeply_nested_reference_feed_is_400(client, odds_raw) -> None:
    data = (b'{"odds": [{"gameId": "game-1", "date": 1763900000, "awayOdds": -110, "homeOdds": -110, "x": '
            + b"[" * 5000 + b"]" * 5000 + b"}]}")
    await assert_refused_and_nothing_reached_kafka(
        client, odds_raw, lambda: client.put("/feeds", data=data, headers=ACME), 400, "malformed_json"
    )


# --- nothing crashed --------------------------------------------------------------------------


async def test_after_all_the_bad_input_a_valid_batch_is_202_and_no_request_got_a_5xx(client) -> None:
    await accepted(await client.post("/v1/odds", json=valid_batch(), headers=ACME))
    metrics = await (await client.get("/metrics")).text()
    requests = [line for line in metrics.splitlines() if line.startswith("ingest_requests_total{")]
    assert any('status="422"' in line for line in requests)
    assert not [line for line in requests if 'status="5' in line], requests
