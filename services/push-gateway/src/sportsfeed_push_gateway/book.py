"""What the gateway knows of each game: its seq, latest prices, recent updates and status.

Every replica builds the same book from ``odds.live``, ``odds.alerts`` and
``games`` (it reads every partition), warming it from Kafka on start, so a
client can resume on any replica, also after a restart.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from itertools import islice

from sportsfeed_common.events import Game, LiveUpdate, encode

from .frames import snapshot_frame, without_type


@dataclass(frozen=True)
class Recorded:
    """What taking an update in said about its game."""

    status_changed: bool  # its market's status differs from the one before (open, for a first update)
    gap: bool  # the game's seqs jumped: updates before it are missing from the gateway's stream


@dataclass
class GameEntry:
    seq: int = 0
    latest: dict[tuple[str, str], bytes] = field(default_factory=dict)  # (provider, market) -> odds frame
    market_status: dict[tuple[str, str], str] = field(default_factory=dict)  # (provider, market) -> its status
    # (seq, odds frame, monotonic seconds when it arrived), oldest first, seqs consecutive
    recent: deque[tuple[int, bytes, float]] = field(default_factory=deque)
    game_json: bytes | None = None
    sport: str | None = None
    game_status: str | None = None  # the Game's (scheduled, live, finished, cancelled) once known
    stale: bool = False


class GameBook:
    def __init__(self, window_seconds: float, max_per_game: int,
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        self._window_seconds = window_seconds
        self._max_per_game = max_per_game
        self._monotonic = monotonic
        self._games: dict[str, GameEntry] = {}

    def __len__(self) -> int:
        return len(self._games)

    def entry(self, game_id: str) -> GameEntry:
        entry = self._games.get(game_id)
        if entry is None:
            entry = self._games[game_id] = GameEntry()
        return entry

    def sport(self, game_id: str) -> str | None:
        entry = self._games.get(game_id)
        return None if entry is None else entry.sport

    def games_of(self, sports: set[str]) -> list[str]:
        return [game_id for game_id, entry in self._games.items() if entry.sport in sports]

    def record(self, update: LiveUpdate, frame: bytes) -> Recorded | None:
        """Take a LiveUpdate in; None for a seq already had (a replay by the processor after a crash)."""
        entry = self.entry(update.game_id)
        if update.seq <= entry.seq:
            return None
        gap = update.seq != entry.seq + 1
        if gap:
            # A gap in odds.live (only at the start of the warm-up window, or if the processor's
            # topic lost data): what came before can no longer be replayed.
            entry.recent.clear()
        entry.seq = update.seq
        market = (update.provider, update.market)
        entry.latest[market] = frame
        status_changed = entry.market_status.get(market, "open") != update.status
        entry.market_status[market] = update.status
        entry.recent.append((update.seq, frame, self._monotonic()))
        if len(entry.recent) > self._max_per_game:
            entry.recent.popleft()
        return Recorded(status_changed=status_changed, gap=gap)

    def set_game(self, game: Game) -> bool:
        """Take a game's details in; whether they changed its status (not for its first record)."""
        entry = self.entry(game.game_id)
        entry.game_json = encode(game)
        entry.sport = game.sport
        changed = entry.game_status is not None and entry.game_status != game.status
        entry.game_status = game.status
        return changed

    def set_stale(self, game_id: str, stale: bool) -> None:
        self.entry(game_id).stale = stale

    def forget_old(self) -> None:
        """Drop updates older than the window from every game's replay buffer."""
        oldest = self._monotonic() - self._window_seconds
        for entry in self._games.values():
            recent = entry.recent
            while recent and recent[0][2] < oldest:
                recent.popleft()

    def resume(self, game_id: str, since: int | None) -> tuple[bytes, list[bytes]]:
        """The ``snapshot`` frame of a subscription to ``game_id``, and the missed ``odds`` frames after it.

        With ``since`` in the window, the snapshot says ``recovered`` and every update after
        ``since`` follows in order; otherwise it carries the latest prices and the current seq.
        """
        entry = self._games.get(game_id) or GameEntry()
        missed = self._replayable(entry, since)
        if missed is None:
            return self._fresh_snapshot(game_id, entry), []
        assert since is not None
        frames = [frame for _, frame, _ in islice(entry.recent, len(entry.recent) - missed, None)]
        return snapshot_frame(game_id, since, True, [], entry.game_json, entry.stale), frames

    def continuation(self, game_id: str, since: int | None) -> bytes:
        """The ``snapshot`` frame for a game whose updates already reach the socket: every one up to the
        current seq is queued ahead of it, so nothing is replayed and its seq is the current one.

        ``recovered`` when the updates after ``since`` were all in the window (so all went out);
        without ``since``, or past a gap, it carries the latest prices instead.
        """
        entry = self._games.get(game_id) or GameEntry()
        if self._replayable(entry, since) is None:
            return self._fresh_snapshot(game_id, entry)
        return snapshot_frame(game_id, entry.seq, True, [], entry.game_json, entry.stale)

    @staticmethod
    def _replayable(entry: GameEntry, since: int | None) -> int | None:
        """How many updates came after ``since``, when the window holds every one of them; else None."""
        if since is None or since > entry.seq:
            return None
        missed = entry.seq - since
        recent = entry.recent
        if missed == 0 or (len(recent) >= missed and recent[-missed][0] == since + 1):
            return missed
        return None

    @staticmethod
    def _fresh_snapshot(game_id: str, entry: GameEntry) -> bytes:
        markets = [without_type(frame) for frame in entry.latest.values()]
        return snapshot_frame(game_id, entry.seq, False, markets, entry.game_json, entry.stale)
