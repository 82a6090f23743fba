"""The simulated provider's games: sports, teams and the Game payloads sent to ingest."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sportsfeed_common.times import iso_millis

SPORTS = ("soccer", "basketball", "cricket", "tennis")

# Even-length lists: pairing positions 2k and 2k+1 then never sets a team against itself.
TEAMS: dict[str, tuple[str, ...]] = {
    "soccer": (
        "Arsenal", "Chelsea", "Liverpool", "Manchester City", "Manchester United",
        "Tottenham Hotspur", "Newcastle United", "Aston Villa", "Real Madrid", "Barcelona",
        "Atletico Madrid", "Bayern Munich", "Borussia Dortmund", "Juventus", "Inter Milan",
        "AC Milan", "Paris Saint-Germain", "Ajax",
    ),
    "basketball": (
        "Boston Celtics", "Los Angeles Lakers", "Golden State Warriors", "Chicago Bulls",
        "Miami Heat", "New York Knicks", "Denver Nuggets", "Milwaukee Bucks", "Phoenix Suns",
        "Dallas Mavericks", "Portland Trail Blazers", "Charlotte Hornets",
    ),
    "cricket": (
        "India", "Australia", "England", "South Africa", "New Zealand", "Pakistan",
        "Sri Lanka", "West Indies", "Bangladesh", "Afghanistan",
    ),
    "tennis": (
        "Carlos Alcaraz", "Jannik Sinner", "Novak Djokovic", "Daniil Medvedev",
        "Alexander Zverev", "Casper Ruud", "Holger Rune", "Taylor Fritz",
        "Stefanos Tsitsipas", "Andrey Rublev", "Hubert Hurkacz", "Alex de Minaur",
    ),
}


@dataclass(frozen=True)
class SimGame:
    game_id: str
    sport: str
    home_team: str
    away_team: str
    started_minutes_ago: int

    @property
    def name(self) -> str:
        # North American convention for basketball (as the reference's summaries), "vs" elsewhere.
        if self.sport == "basketball":
            return f"{self.away_team} @ {self.home_team}"
        return f"{self.home_team} vs {self.away_team}"


def build_catalogue(count: int, rng: random.Random) -> list[SimGame]:
    """``count`` games, sports taken round-robin, ids ``game-sim-<sport>-<n>`` numbered per sport."""
    line_ups = {sport: rng.sample(teams, len(teams)) for sport, teams in TEAMS.items()}
    games = []
    for position in range(count):
        sport = SPORTS[position % len(SPORTS)]
        number = position // len(SPORTS)
        teams = line_ups[sport]
        games.append(
            SimGame(
                game_id=f"game-sim-{sport}-{number + 1}",
                sport=sport,
                home_team=teams[(2 * number) % len(teams)],
                away_team=teams[(2 * number + 1) % len(teams)],
                started_minutes_ago=rng.randint(5, 80),
            )
        )
    return games


def game_payload(game: SimGame, now: datetime) -> dict[str, Any]:
    """The wire form for ``PUT /v1/games``: a live game that kicked off a little while ago."""
    kick_off = (now - timedelta(minutes=game.started_minutes_ago)).replace(second=0, microsecond=0)
    return {
        "gameId": game.game_id,
        "sport": game.sport,
        "name": game.name,
        "homeTeam": game.home_team,
        "awayTeam": game.away_team,
        "gameDate": iso_millis(kick_off),
        "status": "live",
    }
