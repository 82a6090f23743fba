"""The WebSocket protocol's frames (docs/push-gateway.md): client ops decoded, server frames encoded.

A LiveUpdate is encoded once per update, not once per client: the ``odds``
frame is the LiveUpdate's own JSON with ``"type":"odds"`` spliced in front,
and the same text goes to every socket.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

import msgspec
from sportsfeed_common.ids import GameId, Sport

GameList = Annotated[list[GameId], msgspec.Meta(max_length=1000)]
SportList = Annotated[list[Sport], msgspec.Meta(max_length=100)]
Seq = Annotated[int, msgspec.Meta(ge=0)]


class Op(msgspec.Struct, tag_field="op", forbid_unknown_fields=True, kw_only=True):
    """Base of every client op; ``op`` names it."""


class Subscribe(Op, tag="subscribe", kw_only=True):
    games: GameList = []
    sports: SportList = []
    # Last seq the client has, per game: the updates after it are replayed when still in the window.
    since: Annotated[dict[GameId, Seq], msgspec.Meta(max_length=1000)] = {}


class Unsubscribe(Op, tag="unsubscribe", kw_only=True):
    games: GameList = []
    sports: SportList = []


class Ping(Op, tag="ping", kw_only=True):
    id: Annotated[str, msgspec.Meta(max_length=200)] | int | None = None


ClientOp = Subscribe | Unsubscribe | Ping
_decoder = msgspec.json.Decoder(ClientOp)


class BadFrame(ValueError):
    def __init__(self, code: Literal["bad_json", "bad_frame"], message: str) -> None:
        super().__init__(message)
        self.code = code


def decode_op(text: str | bytes) -> ClientOp:
    """One client frame; raises :class:`BadFrame` saying what is wrong with it."""
    try:
        return _decoder.decode(text)
    except msgspec.ValidationError as error:
        raise BadFrame("bad_frame", _readable(str(error))) from None
    except msgspec.DecodeError as error:
        raise BadFrame("bad_json", f"not JSON: {error}") from None
    except RecursionError:  # '{"op":[[[[...' fits in a frame; the parser's depth limit is ours to answer
        raise BadFrame("bad_json", "not JSON this gateway reads: nested too deeply") from None


def _readable(message: str) -> str:
    if "Object missing required field `op`" in message or "Expected `object`" in message:
        return "a frame is a JSON object with an op: subscribe, unsubscribe or ping"
    if "Invalid value" in message and "`$.op`" in message:
        return "unknown op; known ops: subscribe, unsubscribe, ping"
    return message.replace("$(?!\\n)", "$")  # the pattern's trailing-newline guard is ours to know


_encode = msgspec.json.encode


ODDS_PREFIX = b'{"type":"odds",'


def odds_frame(live_update_json: bytes) -> bytes:
    """The ``odds`` frame of an encoded LiveUpdate (a JSON object)."""
    return ODDS_PREFIX + live_update_json[1:]


def conflated_frame(frame: bytes, updates: int, skipped: int = 0) -> bytes:
    """An ``odds`` frame marked as standing for ``updates`` updates of its game, provider and market
    (``conflated``, when more than one), and as following ``skipped`` updates of its game that went into a
    later frame (``skipped``, when any): a slow socket's queue merged them (outbox.py)."""
    marks = b'"conflated":%d,' % updates if updates > 1 else b""
    if skipped:
        marks += b'"skipped":%d,' % skipped
    return b'{"type":"odds",' + marks + frame[len(ODDS_PREFIX):]


def without_type(frame: bytes) -> bytes:
    """An ``odds`` frame back to its LiveUpdate (for a snapshot's market list)."""
    return b"{" + frame[len(ODDS_PREFIX):]


def snapshot_frame(game_id: str, seq: int, recovered: bool, markets: list[bytes], game: bytes | None,
                   stale: bool) -> bytes:
    head = _encode({"type": "snapshot", "gameId": game_id, "seq": seq, "recovered": recovered, "stale": stale})
    return b"".join((head[:-1], b',"game":', game or b"null", b',"markets":[', b",".join(markets), b"]}"))


def hello_frame(connection_id: str, server_time_ms: int, epoch: str, replay_window_seconds: float) -> bytes:
    return _encode({"type": "hello", "connectionId": connection_id, "serverTime": server_time_ms, "epoch": epoch,
                    "replayWindowSeconds": replay_window_seconds})


def alert_frame(alert_json: bytes) -> bytes:
    return b'{"type":"alert",' + alert_json[1:]


def status_frame(fields: dict[str, Any]) -> bytes:
    return _encode({"type": "status", **fields})


def pong_frame(ping_id: str | int | None) -> bytes:
    return _encode({"type": "pong", "id": ping_id})


def error_frame(code: str, message: str) -> bytes:
    return _encode({"type": "error", "code": code, "message": message})
