"""The gateway's frames, decoded only as far as the load test looks at them, and the ops analysts send."""

from __future__ import annotations

from collections.abc import Iterator, Mapping

import msgspec
from sportsfeed_common.events import hop_durations


class Trace(msgspec.Struct, rename="camel"):
    """Epoch-millisecond stamps added at every hop (sportsfeed_common.events.Trace)."""

    ingested_at: int | None = None
    processed_at: int | None = None
    pushed_at: int | None = None


class Frame(msgspec.Struct, rename="camel"):
    type: str
    game_id: str | None = None
    seq: int | None = None
    recovered: bool | None = None  # snapshot: whether the subscription's ``since`` was honoured
    conflated: int | None = None  # odds: how many updates a slow client's frame stands for
    skipped: int | None = None  # odds: how many of its game's updates before it went into a later frame
    trace: Trace | None = None


decode_frame = msgspec.json.Decoder(Frame).decode


def hops_ms(trace: Trace, received_ms: float) -> dict[str, float]:
    """Time spent in each hop that both its stamps are known for, from ingest to this client."""
    return hop_durations(trace.ingested_at, trace.processed_at, trace.pushed_at, received_ms)


def end_to_end_ms(trace: Trace | None, received_ms: float) -> float | None:
    """Receipt time minus ingest's ``ingestedAt``; None when the frame has no ingest stamp."""
    if trace is None or trace.ingested_at is None:
        return None
    return received_ms - trace.ingested_at


# The gateway refuses client frames over MAX_CLIENT_FRAME_BYTES (16 KiB by default); a hundred
# run games with their ``since`` come to about 7 KiB.
GAMES_PER_SUBSCRIBE = 100


def subscribe_ops(since: Mapping[str, int]) -> Iterator[str]:
    """``subscribe`` ops for these games, each resuming after its seq, in frames the gateway accepts."""
    games = list(since)
    for start in range(0, len(games), GAMES_PER_SUBSCRIBE):
        chunk = games[start:start + GAMES_PER_SUBSCRIBE]
        op = {"op": "subscribe", "games": chunk, "since": {game: since[game] for game in chunk}}
        yield msgspec.json.encode(op).decode()
