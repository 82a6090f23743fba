"""The accounting: every accepted update reaches every analyst exactly once, or the summary says how not."""

from __future__ import annotations

from .sportsfeed_load.accounting import GameSeqs, SendTally, reconcile
from .sportsfeed_load.feed import Quote


def view(*games: str) -> GameSeqs:
    return GameSeqs(list(games) or ["game-a"])


def test_seqs_in_order_are_clean() -> None:
    analyst = view()
    for seq in (1, 2, 3):
        analyst.on_odds("game-a", seq)
    assert (analyst.frames, analyst.gaps, analyst.duplicates, analyst.last["game-a"]) == (3, 0, 0, 3)


def test_a_skipped_seq_is_a_gap_and_a_repeated_or_late_one_a_duplicate() -> None:
    analyst = view()
    for seq in (1, 2, 5, 5, 4, 6):
        analyst.on_odds("game-a", seq)
    assert (analyst.frames, analyst.gaps, analyst.duplicates) == (6, 2, 2)


def test_a_conflated_frame_accounts_for_the_updates_it_stands_for() -> None:
    analyst = view()
    analyst.on_odds("game-a", 1)
    analyst.on_odds("game-a", 4, conflated=3)
    assert (analyst.gaps, analyst.conflated) == (0, 2)


def test_a_frame_that_skipped_updates_merged_into_a_later_one_is_no_gap() -> None:
    analyst = view()
    analyst.on_odds("game-a", 1)
    analyst.on_odds("game-a", 3, skipped=1)  # seq 2 (another market) went into seq 4
    analyst.on_odds("game-a", 4, conflated=2)
    analyst.on_odds("game-a", 7, skipped=1)  # one of the two missing seqs is announced, not the other
    assert (analyst.gaps, analyst.conflated) == (1, 1)


def test_a_fresh_snapshot_starts_the_game_over_and_a_recovered_one_changes_nothing() -> None:
    analyst = view("game-a", "game-b")
    analyst.on_snapshot("game-a", 0, recovered=True)
    analyst.on_snapshot("game-b", 40, recovered=False)  # the replay window no longer had seq 1
    analyst.on_odds("game-b", 41)
    assert (analyst.never_offered, analyst.gaps, analyst.last) == (40, 0, {"game-a": 0, "game-b": 41})


def test_frames_of_games_not_subscribed_are_set_apart() -> None:
    analyst = view("game-a")
    analyst.on_odds("game-z", 1)
    assert (analyst.frames, analyst.unexpected) == (0, 1)


def test_resuming_asks_for_what_came_after_the_last_seq_of_every_game() -> None:
    analyst = view("game-a", "game-b")
    analyst.on_odds("game-a", 1)
    analyst.on_odds("game-a", 2)
    assert analyst.since() == {"game-a": 2, "game-b": 0}


def test_an_analyst_is_caught_up_when_it_reached_every_accepted_update() -> None:
    analyst = view("game-a", "game-b")
    analyst.on_odds("game-a", 1)
    assert (analyst.caught_up({"game-a": 1}), analyst.behind({"game-a": 1, "game-b": 2})) == (True, 2)
    assert not analyst.caught_up({"game-a": 1, "game-b": 2})


def test_provider_counts_are_in_updates_per_game() -> None:
    tally = SendTally()
    batch = [Quote("game-a", "m", 1, -110, 100), Quote("game-b", "m", 1, -110, 100), Quote("game-a", "m", 2, -110, 100)]
    tally.on_sent(batch)
    tally.on_accepted(batch)
    tally.on_sent(batch[:1])
    tally.on_refused(429, batch[:1])
    assert (tally.batches, tally.sent, tally.accepted, dict(tally.refused)) == (2, 4, 3, {"429": 1})
    assert tally.accepted_per_game == {"game-a": 2, "game-b": 1}


def test_reconciling_two_clean_analysts_gives_accepted_times_analysts() -> None:
    accepted = {"game-a": 3, "game-b": 2}
    views = [view("game-a", "game-b"), view("game-a", "game-b")]
    for analyst in views:
        for game, count in accepted.items():
            for seq in range(1, count + 1):
                analyst.on_odds(game, seq)
    totals = reconcile(views, accepted)
    assert (totals.expected, totals.delivered, totals.lost, totals.duplicates) == (10, 10, 0, 0)


def test_reconciling_counts_gaps_and_a_missing_tail_as_lost() -> None:
    analyst = view("game-a")
    for seq in (1, 3, 3):  # 2 never came, 4 and 5 not by the end
        analyst.on_odds("game-a", seq)
    totals = reconcile([analyst], {"game-a": 5})
    assert (totals.expected, totals.delivered, totals.gaps, totals.missing, totals.lost, totals.duplicates) == (
        5, 2, 1, 2, 3, 1)


def test_seqs_beyond_what_was_accepted_are_reported() -> None:
    analyst = view("game-a")
    for seq in (1, 2, 3):
        analyst.on_odds("game-a", seq)
    assert reconcile([analyst], {"game-a": 2}).beyond_accepted == 1
