"""What the processor does with each stored update, free of any Kafka client.

decode -> sequence (gap-free per game, a replay gets nothing) -> LiveUpdate to ``odds.live``
-> movement / status alerts -> fold into the minute's candle and the provider's count.

State lives in three mappings that the faust app backs with changelog tables
(``game_states``, ``candles``, ``counts``); this class only needs them to
behave like dicts of bytes, so unit tests give it plain dicts. Every write to
them must happen while processing an event of the partition the key belongs
to (faust writes the changelog to the current event's partition), which is why
candle and count keys lead with the partition.
"""

from __future__ import annotations

import logging
import time
from collections import defaultdict
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass, field

import msgspec
from sportsfeed_common.events import (
    Alert,
    InvalidEvent,
    LiveUpdate,
    OddsUpdate,
    decode,
    encode,
)
from sportsfeed_common.series import Candle, minute_of

from .alerts import StaleGames, movement_alert, status_alert
from .pricing import MovementThresholds
from .sequencing import decode_state, encode_state, sequence
from .series import candle_key, count_key, fold_candle, key_minute, key_partition

log = logging.getLogger(__name__)

SendLive = Callable[[LiveUpdate], Awaitable[None]]
SendAlert = Callable[[Alert], Awaitable[None]]
Park = Callable[[int, bytes | None, bytes, str], Awaitable[None]]  # partition, key, value, error
Clock = Callable[[], int]  # epoch milliseconds

EXPIRY_INTERVAL_MS = 30_000

_candle_decoder = msgspec.json.Decoder(Candle)


def wall_clock_ms() -> int:
    return time.time_ns() // 1_000_000


@dataclass
class Outcome:
    """What one update led to, for metrics and tests."""

    live: LiveUpdate | None = None
    alerts: list[Alert] = field(default_factory=list)
    parked: bool = False


class OddsProcessor:
    def __init__(
        self,
        *,
        game_states: MutableMapping[bytes, bytes],
        candles: MutableMapping[bytes, bytes],
        counts: MutableMapping[bytes, bytes],
        send_live: SendLive,
        send_alert: SendAlert,
        park: Park,
        thresholds: MovementThresholds,
        sport_of: Callable[[str], str | None],
        stale_games: StaleGames,
        horizon_minutes: int,
        clock: Clock = wall_clock_ms,
    ) -> None:
        self._game_states = game_states
        self._candles = candles
        self._counts = counts
        self._send_live = send_live
        self._send_alert = send_alert
        self._park = park
        self._thresholds = thresholds
        self._sport_of = sport_of
        self._stale_games = stale_games
        self._horizon_ms = horizon_minutes * 60_000
        self._clock = clock
        # Keys whose DynamoDB item is older than the state (written by the series flusher).
        self.dirty_candles: set[bytes] = set()
        self.dirty_counts: set[bytes] = set()
        # Updates per provider per minute of processing time since the last activity report.
        self.activity: defaultdict[str, defaultdict[int, int]] = defaultdict(lambda: defaultdict(int))
        self._last_expiry: dict[int, int] = {}

    async def handle(self, partition: int, key: bytes | None, value: bytes) -> Outcome:
        outcome = Outcome()
        try:
            update = decode(value, OddsUpdate)
        except InvalidEvent as error:
            await self._park(partition, key, value, f"{error.field or error.path}: {error.reason}")
            outcome.parked = True
            return outcome
        now = self._clock()
        self._expire_old_series(partition, now)
        game_key = update.game_id.encode()
        state = decode_state(self._game_states.get(game_key))
        threshold = self._thresholds.for_sport(self._sport_of(update.game_id))
        sequenced = sequence(state, update, threshold, now)
        if sequenced is None:
            return outcome  # a replay, a retry or a price older than one already live
        self._game_states[game_key] = encode_state(state)
        outcome.live = sequenced.live
        await self._send_live(sequenced.live)
        if sequenced.live.movement:
            outcome.alerts.append(movement_alert(sequenced, now))
        if sequenced.status_changed:
            outcome.alerts.append(status_alert(sequenced, now))
        cleared = self._stale_games.updated(update.game_id, now)
        if cleared is not None:
            outcome.alerts.append(cleared)
        for alert in outcome.alerts:
            await self._send_alert(alert)
        self._fold_series(partition, update, now)
        self.activity[update.provider][now // 60_000 * 60] += 1
        return outcome

    def _fold_series(self, partition: int, update: OddsUpdate, now: int) -> None:
        if minute_of(update.ts).timestamp() * 1000 < now - self._horizon_ms:
            return  # its minute has left the state: folding it in would overwrite the stored item
        ckey = candle_key(partition, update).encode()
        stored = self._candles.get(ckey)
        candle = fold_candle(_candle_decoder.decode(stored) if stored else None, update)
        self._candles[ckey] = encode(candle)
        self.dirty_candles.add(ckey)
        nkey = count_key(partition, update.provider, update.ts).encode()
        self._counts[nkey] = str(int(self._counts.get(nkey, b"0")) + 1).encode()
        self.dirty_counts.add(nkey)

    def _expire_old_series(self, partition: int, now: int) -> None:
        """Drop this partition's candles and counts of minutes beyond the horizon (at most every 30 s)."""
        if now - self._last_expiry.get(partition, 0) < EXPIRY_INTERVAL_MS:
            return
        self._last_expiry[partition] = now
        oldest_kept = (now - self._horizon_ms) // 1000
        for table, dirty in ((self._candles, self.dirty_candles), (self._counts, self.dirty_counts)):
            expired = [key for key in list(table.keys())
                       if key_partition(key.decode()) == partition and key_minute(key.decode()) < oldest_kept - 60]
            for key in expired:
                del table[key]
                dirty.discard(key)

    def take_activity(self) -> dict[str, dict[int, int]]:
        """The per-provider counts since the last call (for ``provider.activity``)."""
        activity = {provider: dict(minutes) for provider, minutes in self.activity.items()}
        self.activity.clear()
        return activity
