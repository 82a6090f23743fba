"""The records a benchmark sends: distinct odds updates over many games, built cheaply."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

from sportsfeed_common.events import OddsUpdate, decode, encode
from sportsfeed_stream_processor.sequencing import GameState, sequence

GAMES = 200
NO_MOVEMENT = float("inf")  # movement thresholds play no part in what is stored


def _iso(moment: datetime) -> str:
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _request_body(items: list[tuple[str, str, int]]) -> bytes:
    """Templated, not encoded: the load generator must stay cheap."""
    updates = ",".join(
        f'{{"gameId":"{game}","market":"spread","ts":"{ts}","home":-3.5,"away":3.5,'
        f'"homeOdds":{-110 - n % 40},"awayOdds":{100 + n % 40}}}'
        for game, ts, n in items
    )
    return f'{{"updates":[{updates}]}}'.encode()


class Workload:
    """Distinct updates (unique ts per game and market) spread over ``GAMES`` games, in a fixed order."""

    def __init__(self, run: str) -> None:
        self.run = run
        self._start = datetime.now(UTC) - timedelta(hours=1)
        self._next = 0

    def _items(self, count: int) -> Iterator[tuple[str, str, int]]:
        for _ in range(count):
            n = self._next
            self._next += 1
            yield self.game(n % GAMES), _iso(self._start + timedelta(milliseconds=n // GAMES)), n

    def game(self, number: int) -> str:
        """The id of game ``number`` (0 to GAMES - 1) of this workload."""
        return f"game-bench-{self.run}-{number}"

    def request_body(self, count: int) -> bytes:
        """A ``POST /v1/odds`` body of ``count`` updates (templated: the load generator must stay cheap)."""
        return self.request_batch(count)[0]

    def request_batch(self, count: int) -> tuple[bytes, list[str]]:
        """A ``POST /v1/odds`` body of ``count`` updates, and the game of each."""
        items = list(self._items(count))
        return _request_body(items), [game for game, _, _ in items]

    def step_body(self, games: list[int], step: int) -> bytes:
        """One update for each of ``games`` (numbers), all at ``step`` ms after the start: a provider
        that owns these games and posts their updates in order, one step at a time."""
        moment = _iso(self._start + timedelta(milliseconds=step))
        return _request_body([(self.game(number), moment, step * GAMES + number) for number in games])

    def records(self, count: int, provider: str) -> list[tuple[bytes, bytes]]:
        """``(key, value)`` records exactly as ingest would produce them."""
        return [
            (
                game.encode(),
                encode(
                    OddsUpdate(
                        provider=provider, game_id=game, market="spread", ts=datetime.fromisoformat(ts),
                        home=-3.5, away=3.5, home_odds=-110 - n % 40, away_odds=100 + n % 40,
                    )
                ),
            )
            for game, ts, n in self._items(count)
        ]


def live_records(records: list[tuple[bytes, bytes]], now_ms: int) -> list[tuple[bytes, bytes]]:
    """``odds.raw`` records as the stream processor passes them on to ``odds.live``: LiveUpdates
    sequenced by the processor's own rule (each game's seqs from 1 in record order), processed at
    ``now_ms``. Every record must be new, as :meth:`Workload.records` makes them."""
    states: dict[bytes, GameState] = {}
    live = []
    for key, value in records:
        update = decode(value, OddsUpdate)
        update.trace.ingested_at = now_ms
        sequenced = sequence(states.setdefault(key, GameState()), update, NO_MOVEMENT, now_ms)
        if sequenced is None:
            raise ValueError(f"record {update.id} of {key!r} is not new: the workload makes only new ones")
        live.append((key, encode(sequenced.live)))
    return live
