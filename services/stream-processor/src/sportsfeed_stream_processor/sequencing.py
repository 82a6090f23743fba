"""Per-game sequencing: each new update of a game gets the next ``seq``, gap-free from 1.

The state of a game is a value in a changelog-backed faust table, so it
survives restarts and rebalances. Sequencing is deterministic given that state
and the input order (Kafka keeps a game's order), which is what makes a replay
after a crash produce the very same seq for the very same update.

An update is *new* when its ``ts`` is later than the last sequenced update of
the same provider and market. Anything else is a replay, a provider's retry
(same id, same ts) or a late price older than one already on screens: it never
gets a seq, never replaces a newer price and is never pushed; the processor
passes it on for persistence to store where the table lacks it.
"""

from __future__ import annotations

from dataclasses import dataclass

import msgspec
from sportsfeed_common.events import LiveUpdate, OddsUpdate
from sportsfeed_common.series import Candle
from sportsfeed_common.times import epoch_millis

from .pricing import implied, largest_shift, price_change


class GameState(msgspec.Struct, kw_only=True):
    """Everything the processor remembers about one game, kept as one record.

    One record, so that the seq and the series an update was folded into are
    stored together or not at all: a crash can never leave a candle counting an
    update whose seq was lost (which a replay would then count again).
    """

    seq: int = 0  # the last seq given out; the next update gets seq + 1
    # The last sequenced update of each provider and market, by market_key().
    markets: dict[str, OddsUpdate] = msgspec.field(default_factory=dict)
    last_update_ms: int = 0  # processing time of the last sequenced update (staleness)
    # Per-minute series of recent minutes (see series.py): "market|provider|minute" and "provider|minute",
    # minute in epoch seconds. Candles are stored under a name of their own since they became per provider:
    # a state written before that holds per-market candles under "candles", which are ignored rather than
    # failing to decode (their DynamoDB items stay; a game's counts add both kinds up).
    candles: dict[str, Candle] = msgspec.field(default_factory=dict, name="providerCandles")
    counts: dict[str, int] = msgspec.field(default_factory=dict)


def market_key(update: OddsUpdate) -> str:
    return f"{update.provider}|{update.market}"


@dataclass(frozen=True)
class Sequenced:
    live: LiveUpdate
    previous: OddsUpdate | None  # the same provider and market's previous price, if any
    shift: float  # largest change in implied probability against it (0 for a first price)

    @property
    def status_changed(self) -> bool:
        return self.previous is not None and self.previous.status != self.live.status


_ODDS_FIELDS = OddsUpdate.__struct_fields__


def sequence(state: GameState, update: OddsUpdate, movement_threshold: float, now_ms: int) -> Sequenced | None:
    """Give ``update`` the game's next seq and analyse it, updating ``state``; None if it is not new."""
    key = market_key(update)
    previous = state.markets.get(key)
    if previous is not None and update.ts <= previous.ts:
        return None
    probabilities = implied(update)
    shift = largest_shift(probabilities, implied(previous)) if previous is not None else 0.0
    state.seq += 1
    trace = msgspec.structs.replace(update.trace, processed_at=now_ms)
    received = update.received_at
    live = LiveUpdate(
        **{name: getattr(update, name) for name in _ODDS_FIELDS if name != "trace"},
        trace=trace,
        seq=state.seq,
        change=price_change(update, previous) if previous is not None else None,
        implied=probabilities,
        movement=shift >= movement_threshold,
        # The reference's push `date`: server ingest time in epoch seconds.
        date=epoch_millis(received) // 1000 if received is not None else now_ms // 1000,
    )
    state.markets[key] = msgspec.structs.replace(update, trace=type(update.trace)())
    state.last_update_ms = now_ms
    return Sequenced(live, previous, shift)


def encode_state(state: GameState) -> bytes:
    return msgspec.json.encode(state)


_state_decoder = msgspec.json.Decoder(GameState)


def decode_state(data: bytes | None) -> GameState:
    return _state_decoder.decode(data) if data else GameState()
