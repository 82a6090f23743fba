"""InputPositions: skipped input is told apart from replays."""

from __future__ import annotations

from sportsfeed_stream_processor.positions import InputPositions, Skip, position_key


def positions(**by_partition: int) -> InputPositions:
    return InputPositions({position_key(int(p[1:])): str(o).encode() for p, o in by_partition.items()})


def test_a_partition_without_a_position_accepts_any_first_offset() -> None:
    assert positions().first_skip([(0, 40), (0, 41), (3, 7)]) is None


def test_replays_below_the_position_are_not_skips() -> None:
    assert positions(p0=10).first_skip([(0, 4), (0, 5), (0, 10), (0, 11)]) is None


def test_an_offset_beyond_the_position_is_a_skip() -> None:
    assert positions(p0=10, p1=3).first_skip([(1, 3), (0, 10), (0, 14)]) == Skip(0, 11, 14)


def test_a_gap_inside_a_batch_of_a_new_partition_is_a_skip() -> None:
    assert positions().first_skip([(2, 5), (2, 6), (2, 9)]) == Skip(2, 7, 9)


def test_positions_advance_to_after_the_last_offset_and_never_back() -> None:
    assert positions(p0=10, p1=50).advanced([(0, 10), (0, 11), (1, 20), (2, 0)]) == {0: 12, 2: 1}


def test_positions_recorded_for_another_input_topic_are_not_taken_for_these() -> None:
    # Partition 0's offset 500 was kept while the processor read another topic (keyed by partition alone).
    assert InputPositions({b"0": b"500"}).first_skip([(0, 3), (0, 4)]) is None
