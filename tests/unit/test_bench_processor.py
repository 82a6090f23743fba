"""The processor benchmark's own check: seq gaps and seqs given to two updates are counted."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sportsfeed_bench.processor import faults
from sportsfeed_common.events import ImpliedProbabilities, LiveUpdate, encode

T0 = datetime(2026, 11, 23, 12, tzinfo=UTC)


def live(game: str, seq: int, second: int) -> bytes:
    return encode(LiveUpdate(provider="sim", game_id=game, market="spread", ts=T0 + timedelta(seconds=second),
                             home_odds=-110, away_odds=-110, seq=seq,
                             implied=ImpliedProbabilities(home=0.52, away=0.52), date=0))


def test_a_clean_run_has_no_faults_even_with_a_republished_record() -> None:
    assert faults([live("game-a", 1, 1), live("game-a", 2, 2), live("game-b", 1, 1), live("game-a", 2, 2)]) == 0


def test_a_gap_and_a_seq_given_twice_are_faults() -> None:
    assert faults([live("game-a", 1, 1), live("game-a", 3, 3)]) == 1
    assert faults([live("game-a", 1, 1), live("game-a", 1, 2)]) == 1
