"""The id grammar lives in sportsfeed_common.ids; every place that checks an id accepts and refuses the same ids."""

from __future__ import annotations

from collections.abc import Callable

import msgspec
import pytest
from sportsfeed_common.ids import (
    GAME_ID_PATTERN,
    PROVIDER_ID_REGEX,
    GameId,
    Market,
    ProviderId,
)
from sportsfeed_ingest.auth import config_entry, parse_api_keys
from sportsfeed_ingest.keys import main as key_main
from sportsfeed_persistence import queries
from sportsfeed_persistence.history import InvalidQuery

GOOD_PROVIDERS = ["acme", "a", "0", "acme_2-b", "a" * 64]
BAD_PROVIDERS = ["", "Acme", "-acme", "_acme", "ac me", "acme#1", "acme\n", "a" * 65, "acmé"]
GOOD_GAMES = ["game-1", "game-2026.11.23:eng-hun_1", "game-" + "a" * 123]
BAD_GAMES = ["game-", "game", "Game-1", "game-.1", "game-1#x", "game-1 ", "game-1\n", "game-" + "a" * 124]
GOOD_MARKETS = ["spread", "1x2", "total_2-5", "m" * 32]
BAD_MARKETS = ["", "Spread", "-spread", "spread#", "m" * 33]


def _accepts(kind: object, text: str) -> bool:
    try:
        msgspec.convert(text, kind)
    except msgspec.ValidationError:
        return False
    return True


def _read_api_accepts(check: Callable[[], str]) -> bool:
    try:
        check()
    except InvalidQuery:
        return False
    return True


@pytest.mark.parametrize("text", GOOD_PROVIDERS + BAD_PROVIDERS)
def test_every_provider_check_agrees(text: str, capsys: pytest.CaptureFixture[str]) -> None:
    expected = text in GOOD_PROVIDERS
    assert _accepts(ProviderId, text) is expected
    assert (PROVIDER_ID_REGEX.fullmatch(text) is not None) is expected
    try:
        parsed = parse_api_keys(config_entry(text, "sfk_key"))
    except ValueError:
        parsed = {}
    assert (list(parsed.values()) == [text]) is expected
    assert (key_main(["--", text]) == 0) is expected
    capsys.readouterr()
    assert _read_api_accepts(lambda: queries.provider(text)) is expected


@pytest.mark.parametrize("text", GOOD_GAMES + BAD_GAMES)
def test_every_game_id_check_agrees(text: str) -> None:
    expected = text in GOOD_GAMES
    assert _accepts(GameId, text) is expected
    assert _read_api_accepts(lambda: queries.game_id(text)) is expected


@pytest.mark.parametrize("text", GOOD_MARKETS + BAD_MARKETS)
def test_every_market_check_agrees(text: str) -> None:
    expected = text in GOOD_MARKETS
    assert _accepts(Market, text) is expected
    assert _read_api_accepts(lambda: queries.market(text)) is expected


def test_patterns_are_unanchored_sources_for_documents() -> None:
    assert not GAME_ID_PATTERN.startswith("^") and not GAME_ID_PATTERN.endswith("$")
