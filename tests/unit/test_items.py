"""sportsfeed_common.items: events to items and back, in one module; the read API's bodies keep their JSON."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import msgspec
from sportsfeed_common.events import Game, OddsUpdate
from sportsfeed_common.items import StoredOdds, game_from_item, game_item, odds_from_item, odds_item


def _plain(item: dict) -> dict:
    """As the read side deserialises: numbers as int or float."""
    return {name: float(value) if isinstance(value, Decimal) else value for name, value in item.items()}


def test_odds_round_trip_through_an_item_keeps_the_stored_json() -> None:
    update = OddsUpdate(provider="acme", game_id="game-1", market="spread", ts=datetime(2026, 11, 23, 10, tzinfo=UTC),
                        home=-1.5, home_odds=150, away_odds=-170,
                        received_at=datetime(2026, 11, 23, 10, 0, 1, 250000, tzinfo=UTC))
    stored = odds_from_item(_plain(odds_item(update, datetime(2026, 11, 23, 10, 0, 2, tzinfo=UTC), seq=7)))
    assert isinstance(stored, StoredOdds)
    # oddsFormat and status are always written, defaults or not; absent optional values are left out.
    assert msgspec.json.decode(msgspec.json.encode(stored)) == {
        "id": update.id, "provider": "acme", "gameId": "game-1", "market": "spread", "ts": "2026-11-23T10:00:00Z",
        "home": -1.5, "homeOdds": 150, "awayOdds": -170, "oddsFormat": "american", "status": "open",
        "receivedAt": "2026-11-23T10:00:01.250000Z", "created": 1795428002, "seq": 7,
    }
    assert list(msgspec.json.decode(msgspec.json.encode(stored)))[:2] == ["id", "provider"]


def test_game_round_trip_through_an_item() -> None:
    game = Game(game_id="game-1", sport="soccer", name="England v Hungary", home_team="England",
                away_team="Hungary", game_date=datetime(2026, 11, 23, 19, 45, tzinfo=UTC))
    assert game_from_item(game_item(game, datetime(2026, 11, 1, tzinfo=UTC))) == game
