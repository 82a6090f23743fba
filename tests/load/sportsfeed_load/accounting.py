"""Counting every update: what providers sent and ingest accepted, what each analyst received.

The run's games are fresh and only this run's providers post to them, so the stream
processor gives a game's accepted updates the seqs 1..accepted. An analyst that subscribed
with ``since`` 0 should therefore see each of its games' seqs exactly once, up to that
game's accepted count.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from .feed import Quote


@dataclass
class SendTally:
    """The provider users' side, in updates (a batch of 20 counts 20)."""

    batches: int = 0
    sent: int = 0
    accepted: int = 0
    refused: Counter[str] = field(default_factory=Counter)  # by HTTP status; "0" is no answer at all
    accepted_per_game: Counter[str] = field(default_factory=Counter)

    def on_sent(self, quotes: Sequence[Quote]) -> None:
        self.batches += 1
        self.sent += len(quotes)

    def on_accepted(self, quotes: Sequence[Quote]) -> None:
        self.accepted += len(quotes)
        self.accepted_per_game.update(quote.game_id for quote in quotes)

    def on_refused(self, status: int, quotes: Sequence[Quote]) -> None:
        self.refused[str(status)] += len(quotes)


@dataclass
class GameSeqs:
    """One analyst's view of its games: the last seq of each, and what the seqs said on the way.

    A frame whose seq is not above the last one is a duplicate. A seq that jumps is a gap,
    unless the frame says it was ``conflated`` (a slow client's queue merged updates into
    it: the seqs in between never come, by design) or ``skipped`` (updates before it were
    merged into a later frame of the game). A snapshot that could not honour
    ``since`` starts the game afresh at its seq: the updates before it were never offered.
    """

    games: Sequence[str]
    last: dict[str, int] = field(default_factory=dict)
    frames: int = 0  # odds frames of the analyst's games
    duplicates: int = 0
    gaps: int = 0
    conflated: int = 0  # updates merged into other frames
    never_offered: int = 0  # updates before a fresh (not recovered) snapshot
    unexpected: int = 0  # odds frames of games the analyst did not subscribe to
    other: Counter[str] = field(default_factory=Counter)  # frames that are not odds, by type

    def __post_init__(self) -> None:
        self.last = dict.fromkeys(self.games, 0)

    def since(self) -> dict[str, int]:
        """What to subscribe (or resume) with: the updates after these seqs are replayed."""
        return dict(self.last)

    def on_snapshot(self, game_id: str, seq: int, recovered: bool) -> None:
        if game_id not in self.last or recovered:
            return
        if seq > self.last[game_id]:
            self.never_offered += seq - self.last[game_id]
            self.last[game_id] = seq

    def on_odds(self, game_id: str, seq: int, conflated: int | None = None, skipped: int | None = None) -> None:
        last = self.last.get(game_id)
        if last is None:
            self.unexpected += 1
            return
        self.frames += 1
        if seq <= last:
            self.duplicates += 1
            return
        merged = (conflated or 1) - 1
        self.conflated += merged
        # skipped: updates of the game merged into a later frame, counted there (docs/push-gateway.md).
        self.gaps += max(0, seq - last - 1 - merged - (skipped or 0))
        self.last[game_id] = seq

    def caught_up(self, accepted_per_game: Mapping[str, int]) -> bool:
        return all(self.last[game] >= accepted_per_game.get(game, 0) for game in self.games)

    def behind(self, accepted_per_game: Mapping[str, int]) -> int:
        """Accepted updates of its games this analyst has not reached yet."""
        return sum(max(0, accepted_per_game.get(game, 0) - self.last[game]) for game in self.games)


@dataclass(frozen=True)
class Deliveries:
    """Every analyst's view added up and set against what ingest accepted."""

    analysts: int
    expected: int  # accepted updates of each analyst's games, less those never offered to it
    delivered: int  # distinct odds frames received (duplicates not counted)
    duplicates: int
    gaps: int
    conflated: int
    never_offered: int
    missing: int  # accepted updates an analyst never reached by the end of the drain
    beyond_accepted: int  # seqs above the accepted count (e.g. a 503'd batch that reached Kafka anyway)
    unexpected: int
    other_frames: dict[str, int]

    @property
    def lost(self) -> int:
        return self.gaps + self.missing


def reconcile(views: Iterable[GameSeqs], accepted_per_game: Mapping[str, int]) -> Deliveries:
    views = list(views)
    other: Counter[str] = Counter()
    for view in views:
        other.update(view.other)
    expected = sum(accepted_per_game.get(game, 0) for view in views for game in view.games)
    never_offered = sum(view.never_offered for view in views)
    return Deliveries(
        analysts=len(views),
        expected=expected - never_offered,
        delivered=sum(view.frames - view.duplicates for view in views),
        duplicates=sum(view.duplicates for view in views),
        gaps=sum(view.gaps for view in views),
        conflated=sum(view.conflated for view in views),
        never_offered=never_offered,
        missing=sum(view.behind(accepted_per_game) for view in views),
        beyond_accepted=sum(max(0, view.last[game] - accepted_per_game.get(game, 0))
                            for view in views for game in view.games),
        unexpected=sum(view.unexpected for view in views),
        other_frames=dict(other),
    )
