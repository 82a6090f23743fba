"""What the processor does with a batch of accepted updates (``odds.raw``), free of any Kafka client.

Per update: decode -> sequence (gap-free per game; a replay gets nothing) -> a LiveUpdate, plus
movement / status / stale-cleared alerts -> folded into its game's candle and its provider's count.
An update that is not new (a retry, a replay, a late price) gets no seq; it is passed on as it came,
for persistence to store if the table lacks it (``NOT_LIVE_HEADER``).

The batch is decided in memory first. The caller then publishes its outputs,
waits for Kafka to acknowledge them, and only then stores the new game states
(and only after that are offsets committed). So the stored state is never
ahead of what was published: after a crash, a replayed update either finds
its game's state (it was published and stored: nothing to do) or the state
from before it (it gets the same seq again, an identical record that
consumers drop by seq). Nothing is lost, and no seq is ever given twice to
different updates.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from sportsfeed_common.events import Alert, InvalidEvent, LiveUpdate, OddsUpdate, decode
from sportsfeed_common.times import now_millis

from .alerts import StaleGames, movement_alert, status_alert
from .pricing import MovementThresholds
from .sequencing import GameState, decode_state, sequence
from .series import fold_series

Clock = Callable[[], int]  # epoch milliseconds


@dataclass
class Parked:
    partition: int
    offset: int
    key: bytes | None
    value: bytes
    error: str


@dataclass
class BatchResult:
    live: list[LiveUpdate] = field(default_factory=list)
    alerts: list[Alert] = field(default_factory=list)
    parked: list[Parked] = field(default_factory=list)
    # Replays, retries and prices older than one already live: (key, value) as they came.
    not_live: list[tuple[bytes, bytes]] = field(default_factory=list)
    # New state per game key, with the partition its changelog record belongs to.
    states: dict[bytes, tuple[int, GameState]] = field(default_factory=dict)
    # What changed in the series: (game key, candle key) and (partition, count key).
    candles: set[tuple[bytes, str]] = field(default_factory=set)
    counts: set[tuple[int, str]] = field(default_factory=set)
    # Ids of the LiveUpdates folded into no series (their minute was beyond the horizon).
    uncounted: set[str] = field(default_factory=set)


class OddsProcessor:
    def __init__(
        self,
        *,
        game_states: Mapping[bytes, bytes],
        thresholds: MovementThresholds,
        sport_of: Callable[[str], str | None],
        stale_games: StaleGames,
        horizon_minutes: int,
        clock: Clock = now_millis,
    ) -> None:
        self._game_states = game_states
        self._thresholds = thresholds
        self._sport_of = sport_of
        self._stale_games = stale_games
        self.horizon_minutes = horizon_minutes
        self._clock = clock
        # Updates per provider per minute of processing time since the last activity report.
        self._activity: defaultdict[str, defaultdict[int, int]] = defaultdict(lambda: defaultdict(int))

    def process(self, messages: list[tuple[int, int, bytes | None, bytes]]) -> BatchResult:
        """Decide a batch of ``(partition, offset, key, value)`` messages, in order; nothing is stored here."""
        result = BatchResult()
        states: dict[bytes, GameState] = {}
        for partition, offset, key, value in messages:
            try:
                update = decode(value, OddsUpdate)
            except InvalidEvent as error:
                result.parked.append(Parked(partition, offset, key, value,
                                            f"{error.field or error.path}: {error.reason}"))
                continue
            if not self._process_one(partition, update, states, result):
                result.not_live.append((update.game_id.encode(), value))
        return result

    def _process_one(self, partition: int, update: OddsUpdate, states: dict[bytes, GameState],
                     result: BatchResult) -> bool:
        """Sequence and analyse one update; False if it is not new."""
        now = self._clock()
        game_key = update.game_id.encode()
        state = states.get(game_key)
        if state is None:
            state = states[game_key] = decode_state(self._game_states.get(game_key))
        threshold = self._thresholds.for_market(self._sport_of(update.game_id), update.market)
        sequenced = sequence(state, update, threshold, now)
        if sequenced is None:
            return False
        result.live.append(sequenced.live)
        if sequenced.live.movement:
            result.alerts.append(movement_alert(sequenced, now))
        if sequenced.status_changed:
            result.alerts.append(status_alert(sequenced, now))
        cleared = self._stale_games.updated(update.game_id, now)
        if cleared is not None:
            result.alerts.append(cleared)
        changed = fold_series(state, update, now, self.horizon_minutes)
        if changed is not None:
            result.candles.add((game_key, changed[0]))
            result.counts.add((partition, changed[1]))
        else:
            result.uncounted.add(sequenced.live.id)  # older than the horizon: persistence counts it
        result.states[game_key] = (partition, state)
        self._activity[update.provider][now // 60_000 * 60] += 1
        return True

    def take_activity(self) -> dict[str, dict[int, int]]:
        """The per-provider counts since the last call (for ``provider.activity``)."""
        activity = {provider: dict(minutes) for provider, minutes in self._activity.items()}
        self._activity.clear()
        return activity

