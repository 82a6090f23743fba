"""One load test run in one Locust process: what its users share, and the drain at its end."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from itertools import count

from .accounting import GameSeqs, SendTally
from .feed import QuoteSource, new_run_id, run_games
from .latency import LatencyRecorder
from .pacing import Pacer
from .settings import LoadSettings

DRAIN_POLL_SECONDS = 0.1


@dataclass
class Drain:
    """How the end of the run went: providers stopped, then analysts caught up (or not)."""

    in_flight_left: int = 0
    behind_left: int = 0
    seconds: float = 0.0

    @property
    def complete(self) -> bool:
        return self.in_flight_left == 0 and self.behind_left == 0


@dataclass
class LoadRun:
    settings: LoadSettings
    run_id: str = field(default_factory=new_run_id)
    clock: Callable[[], float] = time.monotonic
    cpu_clock: Callable[[], float] = time.process_time  # this process's CPU: is the load generator the limit?

    def __post_init__(self) -> None:
        self.games = run_games(self.run_id, self.settings.games)
        self.pacer = Pacer(self.settings.rate / self.settings.batch_size, self.clock)
        self.sends = SendTally()
        self.views: list[GameSeqs] = []
        self.latency = LatencyRecorder()
        self.live_frames = 0  # odds frames ingested after their analyst subscribed: these have a latency
        self.replayed_frames = 0  # odds frames replayed from before the subscription (no latency)
        self.connects = 0
        self.disconnects = 0
        self.sending = True
        self.in_flight = 0
        self.started_at = self.clock()
        self.sending_seconds = 0.0
        self.started_cpu = self.cpu_clock()
        self.sending_cpu_seconds = 0.0
        self.drain_result: Drain | None = None
        self._providers = count()
        self._analysts = count()

    # --- providers ------------------------------------------------------------------------

    def new_quote_source(self) -> QuoteSource:
        """Each provider user gets a market of its own (see feed.py for why)."""
        return QuoteSource(self.games, market=f"load-{next(self._providers)}")

    @contextmanager
    def request_in_flight(self) -> Iterator[None]:
        self.in_flight += 1
        try:
            yield
        finally:
            self.in_flight -= 1

    # --- analysts -------------------------------------------------------------------------

    def new_view(self) -> tuple[int, GameSeqs]:
        """An analyst's number and the games it watches: all, or a window that moves by analyst."""
        index = next(self._analysts)
        wanted = self.settings.games_per_analyst
        start = index * wanted % len(self.games)
        games = [self.games[(start + offset) % len(self.games)] for offset in range(wanted)]
        view = GameSeqs(games)
        self.views.append(view)
        return index, view

    def behind(self) -> int:
        return sum(view.behind(self.sends.accepted_per_game) for view in self.views)

    # --- the end --------------------------------------------------------------------------

    def drain(self, sleep: Callable[[float], object]) -> Drain:
        """Stop sending, let requests in flight finish, then wait (at most ``drain_seconds``) until
        every analyst has reached every accepted update of its games."""
        self.sending = False
        self.sending_seconds = self.clock() - self.started_at
        self.sending_cpu_seconds = self.cpu_clock() - self.started_cpu
        deadline = self.clock() + self.settings.drain_seconds
        while self.in_flight and self.clock() < deadline:
            sleep(DRAIN_POLL_SECONDS)
        while self.behind() and self.clock() < deadline:
            sleep(DRAIN_POLL_SECONDS)
        self.drain_result = Drain(in_flight_left=self.in_flight, behind_left=self.behind(),
                                  seconds=round(self.clock() - self.started_at - self.sending_seconds, 3))
        return self.drain_result
