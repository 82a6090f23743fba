"""The push gateway under hostile clients: floods of frames, garbage, oversized and binary frames.

Each abuse gets its documented answer (docs/push-gateway.md: an ``error`` frame with the socket
left open, or close code 1009 for a frame past the hard size limit), and an analyst connected at
the same time gets every update, in order, with its socket open.
"""

from __future__ import annotations

import time
from typing import Any

import aiohttp
import pytest
from sportsfeed_devstack.waiting import wait_until_async
from sportsfeed_push_gateway.sockets import HARD_FRAME_LIMIT_BYTES

from ..gateway_support import (
    ADMIN_TOKEN,
    StartGateway,
    connect,
    game_ids,
    live,
    publish_live,
)
from ..ws_client import Analyst

pytestmark = pytest.mark.integration

FRAMES_PER_SECOND = 50
MAX_FRAME_BYTES = 1024
FLOOD = 5_000

Frame = dict[str, Any] | str | bytes
HOSTILE: dict[str, list[Frame]] = {
    "valid-pings": [{"op": "ping", "id": "flood"}],
    "garbage-text": ["not json", "[1, 2]", {"op": "dance"}, "\u0000\u202e\U0001f4a5"],
    "oversized-text": ["x" * (MAX_FRAME_BYTES * 2)],
    "binary": [b"\x00\xff" * 64],
    "all-mixed": [{"op": "ping", "id": "flood"}, "not json", {"op": "dance"}, "x" * (MAX_FRAME_BYTES * 2),
                  b"\x00\xff" * 64],
}


async def gateway_with_watcher(start_gateway: StartGateway, analysts: list[Analyst],
                               **settings: str) -> tuple[str, Analyst, str]:
    """A gateway (small client limits unless told), and an analyst subscribed to a game of its own."""
    gateway = await start_gateway(**{"CLIENT_FRAMES_PER_SECOND": str(FRAMES_PER_SECOND),
                                     "MAX_CLIENT_FRAME_BYTES": str(MAX_FRAME_BYTES), **settings})
    (game_id,) = game_ids(1)
    watcher = await connect(analysts, gateway.url, "client=watcher")
    await watcher.send({"op": "subscribe", "games": [game_id]})
    await watcher.wait_for(lambda a: a.of_type("snapshot"), "the watcher's snapshot")
    return gateway.url, watcher, game_id


async def watcher_gets_every_update(servers, watcher: Analyst, game_id: str, first: int, last: int) -> None:
    await publish_live(servers, [live(game_id, seq) for seq in range(first, last + 1)])
    await watcher.wait_for(lambda a: a.seqs(game_id)[-1:] == [last], f"seq {last} at the watcher")
    assert watcher.seqs(game_id) == list(range(1, last + 1))
    assert watcher.close_code is None and not watcher.of_type("error")


async def answered_again(analyst: Analyst) -> bool:
    """Once the allowance has refilled, a ping is answered again."""
    ping_id = f"again-{time.monotonic_ns()}"
    await analyst.send({"op": "ping", "id": ping_id})
    try:
        await analyst.wait_for(lambda a: any(p["id"] == ping_id for p in a.of_type("pong")), "a pong", timeout=0.5)
    except TimeoutError:
        return False
    return True


@pytest.mark.parametrize("kind", list(HOSTILE))
async def test_a_flood_of_frames_is_answered_with_one_rate_limited_error_a_second_and_spares_other_analysts(
        servers, start_gateway: StartGateway, analysts: list[Analyst], kind: str) -> None:
    url, watcher, game_id = await gateway_with_watcher(start_gateway, analysts)
    flooder = await connect(analysts, url, "client=flooder")
    frames = HOSTILE[kind]
    started = time.monotonic()
    await publish_live(servers, [live(game_id, seq) for seq in range(1, 101)])
    for n in range(FLOOD):  # as fast as the socket takes them
        await flooder.send(frames[n % len(frames)])
    await watcher_gets_every_update(servers, watcher, game_id, 101, 200)
    await flooder.wait_for(lambda a: any(e["code"] == "rate_limited" for e in a.of_type("error")), "rate_limited")
    elapsed = time.monotonic() - started

    rate_limited = [e for e in flooder.of_type("error") if e["code"] == "rate_limited"]
    obeyed = [f for f in flooder.frames if f["type"] == "pong" or f.get("code") not in (None, "rate_limited")]
    # Obeyed (a pong, or the frame's own error) only within the allowance: a second's burst plus
    # the refill; the rest dropped, with one rate_limited notice a second, not one per frame.
    assert 0 < len(obeyed) <= FRAMES_PER_SECOND * (1 + elapsed) + 1
    assert 1 <= len(rate_limited) <= elapsed + 2
    assert "frames per second" in rate_limited[0]["message"]
    assert flooder.close_code is None and not flooder.socket.closed
    await wait_until_async(lambda: answered_again(flooder), timeout=10, what="the flooder to be answered again")


async def test_a_frame_past_the_hard_size_limit_closes_only_that_socket_with_1009(
        servers, start_gateway: StartGateway, analysts: list[Analyst]) -> None:
    url, watcher, game_id = await gateway_with_watcher(start_gateway, analysts)
    offender = await connect(analysts, url, "client=offender")
    await offender.send("x" * (HARD_FRAME_LIMIT_BYTES + 1))
    assert await offender.wait_closed() == 1009  # MESSAGE_TOO_BIG
    await watcher_gets_every_update(servers, watcher, game_id, 1, 50)


@pytest.mark.parametrize(
    ("frame", "code"),
    [('{"op":' + "[" * 5000 + "]" * 5000 + "}", "bad_json"),
     ('{"op":' + "[" * 8000, "bad_json"),
     ("[" * 8000, "bad_frame"),
     ('{"op":"ping","id":' + '{"a":' * 2000 + "1" + "}" * 2001, "bad_frame")],
    ids=["op-nested-5000-deep", "op-nested-8000-deep-unclosed", "array-8000-deep", "ping-id-nested-2000-deep"],
)
async def test_a_deeply_nested_frame_gets_its_error_frame_and_the_socket_stays_open(
        servers, start_gateway: StartGateway, analysts: list[Analyst], frame: str, code: str) -> None:
    # Within the default frame size (16 KiB): the depth, not the size, is what is refused.
    url, watcher, game_id = await gateway_with_watcher(start_gateway, analysts, MAX_CLIENT_FRAME_BYTES="16384")
    analyst = await connect(analysts, url, "client=nester")
    await analyst.send(frame)
    error = (await analyst.wait_for(lambda a: a.of_type("error"), "the error frame"))[0]
    assert error["code"] == code and error["message"]
    await analyst.send({"op": "ping", "id": "still-here"})
    await analyst.wait_for(lambda a: a.of_type("pong"), "the pong after it")
    assert analyst.close_code is None
    await watcher_gets_every_update(servers, watcher, game_id, 1, 20)


async def test_an_operators_message_nested_too_deeply_is_400_bad_json(start_gateway: StartGateway) -> None:
    gateway = await start_gateway()
    body = '{"type":"notice","message":' + "[" * 20_000 + "]" * 20_000 + "}"
    async with aiohttp.ClientSession() as session, session.post(
            f"{gateway.url}/admin/connections/c0ffee/messages", data=body,
            headers={"Authorization": f"Bearer {ADMIN_TOKEN}", "Content-Type": "application/json"}) as response:
        assert response.status == 400 and (await response.json())["error"] == "bad_json"
        assert (await session.get(f"{gateway.url}/healthz")).status == 200  # and the gateway carries on
