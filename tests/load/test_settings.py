"""Settings are checked before any user starts, and say what is wrong."""

from __future__ import annotations

from dataclasses import replace

import pytest

from .good_settings import GOOD


@pytest.mark.parametrize(("change", "complaint"), [
    ({"rate": 0}, "--rate"),
    ({"games": 1001}, "--games"),
    ({"batch_size": 501}, "--batch-size"),
    ({"feeds_share": 1.5}, "--feeds-share"),
    ({"providers": 0}, "--providers"),
    ({"analyst_games": 51}, "--analyst-games"),
    ({"drain_seconds": -1}, "--drain-seconds"),
    ({"provider_key": ""}, "--provider-key"),
    ({"gateway_url": "127.0.0.1:8080"}, "--gateway-url"),
])
def test_nonsense_is_refused_naming_the_option(change: dict, complaint: str) -> None:
    with pytest.raises(ValueError, match=complaint):
        replace(GOOD, **change)


def test_the_socket_url_is_the_gateways_ws_endpoint_with_the_client_id() -> None:
    assert GOOD.socket_url("load-analyst-3") == "ws://127.0.0.1:8080/ws?client=load-analyst-3&mode=subscribed"
    assert replace(GOOD, gateway_url="https://odds.example").socket_url("a") == "wss://odds.example/ws?client=a&mode=subscribed"


def test_analysts_watch_every_game_unless_told_otherwise() -> None:
    assert (GOOD.games_per_analyst, replace(GOOD, analyst_games=5).games_per_analyst) == (50, 5)


def test_the_key_never_reaches_the_summary() -> None:
    assert "provider_key" not in GOOD.public()
