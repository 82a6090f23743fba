"""The shared pace: the configured rate in total, and no burst after a stall."""

from __future__ import annotations

import pytest

from .sportsfeed_load.pacing import Pacer


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_users_asking_together_get_consecutive_slots() -> None:
    clock = FakeClock()
    pacer = Pacer(10, clock)
    assert [pacer.delay() for _ in range(4)] == pytest.approx([0.0, 0.1, 0.2, 0.3])


def test_a_user_on_time_waits_for_its_slot() -> None:
    clock = FakeClock()
    pacer = Pacer(4, clock)
    pacer.delay()
    clock.now += 0.1
    assert pacer.delay() == pytest.approx(0.15)


def test_slots_missed_while_everyone_was_busy_are_not_made_up() -> None:
    clock = FakeClock()
    pacer = Pacer(10, clock)
    pacer.delay()
    clock.now += 5.0
    assert [pacer.delay() for _ in range(3)] == pytest.approx([0.0, 0.1, 0.2])
