"""The gateway's game book: duplicates dropped, resume inside the window, snapshots outside it."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from sportsfeed_common.events import Game, ImpliedProbabilities, LiveUpdate, encode
from sportsfeed_push_gateway.book import GameBook
from sportsfeed_push_gateway.frames import odds_frame

T0 = datetime(2026, 11, 23, 7, 0, tzinfo=UTC)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def live(game: str, seq: int, market: str = "spread", provider: str = "acme", status: str = "open") -> LiveUpdate:
    return LiveUpdate(provider=provider, game_id=game, market=market, ts=T0 + timedelta(seconds=seq),
                      home_odds=-110 - seq, away_odds=-110, seq=seq, date=1_763_881_200, status=status,
                      implied=ImpliedProbabilities(home=0.5, away=0.5))


def record(book: GameBook, *updates: LiveUpdate) -> list[bool | None]:
    """Per update: None for a seq already had, otherwise whether it changed its market's status."""
    recorded = [book.record(update, odds_frame(encode(update))) for update in updates]
    return [None if r is None else r.status_changed for r in recorded]


def parsed(snapshot: bytes, frames: list[bytes]) -> tuple[dict, list[int]]:
    return json.loads(snapshot), [json.loads(frame)["seq"] for frame in frames]


def test_a_seq_already_had_is_a_duplicate() -> None:
    book = GameBook(300, 100)
    # None: a seq already had; otherwise whether the update changed its market's status (not here).
    assert record(book, live("game-1", 1), live("game-1", 2), live("game-1", 2), live("game-1", 1)) == [
        False, False, None, None]


def test_an_update_that_changes_its_markets_status_says_so() -> None:
    book = GameBook(300, 100)
    statuses = ["open", "suspended", "suspended", "open", "closed"]
    assert record(book, *(live("game-1", seq, status=status) for seq, status in enumerate(statuses, start=1))) == [
        False, True, False, True, True]
    # Another market's first update is measured against open.
    assert record(book, live("game-1", 6, market="total", status="suspended")) == [True]


def test_a_jump_in_a_games_seqs_is_a_gap_and_the_window_before_it_is_dropped() -> None:
    book = GameBook(300, 100)
    recorded = [book.record(u, odds_frame(encode(u))) for u in (live("game-1", 1), live("game-1", 2), live("game-1", 5))]
    assert [r.gap for r in recorded if r is not None] == [False, False, True]
    snapshot, missed = parsed(*book.resume("game-1", 1))
    assert (snapshot["recovered"], snapshot["seq"], missed) == (False, 5, [])


def test_resume_inside_the_window_replays_every_missed_update_in_order() -> None:
    book = GameBook(300, 100)
    record(book, *(live("game-1", seq) for seq in range(1, 11)))
    snapshot, missed = parsed(*book.resume("game-1", 6))
    assert (snapshot["type"], snapshot["seq"], snapshot["recovered"], snapshot["markets"]) == (
        "snapshot", 6, True, [])
    assert missed == [7, 8, 9, 10]


def test_resume_at_the_current_seq_replays_nothing() -> None:
    book = GameBook(300, 100)
    record(book, live("game-1", 1), live("game-1", 2))
    snapshot, missed = parsed(*book.resume("game-1", 2))
    assert snapshot["recovered"] is True and snapshot["seq"] == 2 and missed == []


def test_beyond_the_window_a_fresh_snapshot_with_the_latest_price_per_market() -> None:
    clock = Clock()
    book = GameBook(60, 100, monotonic=clock)
    record(book, live("game-1", 1), live("game-1", 2, market="total"), live("game-1", 3))
    clock.now += 61
    record(book, live("game-1", 4, market="total"))
    book.forget_old()
    snapshot, missed = parsed(*book.resume("game-1", 1))
    assert snapshot["recovered"] is False and snapshot["seq"] == 4 and missed == []
    assert sorted((m["market"], m["seq"]) for m in snapshot["markets"]) == [("spread", 3), ("total", 4)]
    assert all("type" not in market for market in snapshot["markets"])


def test_the_replay_buffer_is_bounded_per_game() -> None:
    book = GameBook(300, 5)
    record(book, *(live("game-1", seq) for seq in range(1, 21)))
    assert parsed(*book.resume("game-1", 15))[1] == [16, 17, 18, 19, 20]
    assert parsed(*book.resume("game-1", 14))[0]["recovered"] is False


def test_a_since_ahead_of_the_book_gets_a_fresh_snapshot() -> None:
    book = GameBook(300, 100)
    record(book, live("game-1", 1))
    assert parsed(*book.resume("game-1", 9))[0] == {**parsed(*book.resume("game-1", None))[0]}
    assert parsed(*book.resume("game-1", 9))[0]["recovered"] is False


def test_an_unknown_game_has_an_empty_snapshot_and_games_are_found_by_sport() -> None:
    book = GameBook(300, 100)
    book.set_game(Game(game_id="game-9", sport="soccer", name="A v B", home_team="A", away_team="B",
                       game_date=T0))
    book.set_stale("game-9", True)
    snapshot = json.loads(book.resume("game-9", None)[0])
    assert (snapshot["seq"], snapshot["markets"], snapshot["stale"], snapshot["game"]["sport"]) == (
        0, [], True, "soccer")
    assert book.games_of({"soccer"}) == ["game-9"] and book.games_of({"tennis"}) == []
    assert json.loads(book.resume("game-none", None)[0])["game"] is None


def test_a_game_already_on_the_socket_continues_at_the_current_seq_with_nothing_replayed() -> None:
    book = GameBook(300, 100)
    record(book, *(live("game-1", seq) for seq in range(1, 8)))
    snapshot = json.loads(book.continuation("game-1", 3))
    assert (snapshot["seq"], snapshot["recovered"], snapshot["markets"]) == (7, True, [])
    assert json.loads(book.continuation("game-1", 7))["recovered"] is True


def test_a_game_already_on_the_socket_without_since_or_past_a_gap_starts_afresh_at_the_current_seq() -> None:
    book = GameBook(300, 100)
    record(book, live("game-1", 1), live("game-1", 2), live("game-1", 5))  # 3 and 4 never reached the book
    for since in (None, 1, 2):
        snapshot = json.loads(book.continuation("game-1", since))
        assert (snapshot["seq"], snapshot["recovered"]) == (5, False)
        assert [market["seq"] for market in snapshot["markets"]] == [5]
    assert json.loads(book.continuation("game-1", 4))["recovered"] is True  # a client with 4 lacks nothing
