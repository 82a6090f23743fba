"""Subscribing against a live stream: a client that follows the protocol (docs/push-gateway.md,
"Subscribing without a race") sees every update of its games once, in seq order, whatever the
timing of its subscribe ops. Real Kafka, Redis and a gateway process.

Before ``mode=subscribed`` existed, a socket got every update until its first subscribe was read:
an update that arrived in that spell and was then replayed from ``since`` reached the analyst
twice, with the seqs before it arriving after it. That is what the Locust analysts met under load
(duplicates, and gaps that were only late); the first test here reproduces it step by step.
"""

from __future__ import annotations

import asyncio
import uuid

import aiohttp
import pytest

from ..gateway_support import connect, game, game_ids, live, publish_games, publish_live
from ..ws_client import Analyst

pytestmark = pytest.mark.integration


def exactly_once_in_order(analyst: Analyst, games: list[str], last: int) -> dict[str, list[int]]:
    """Each game's seqs as received, for the games whose seqs are not exactly 1..last."""
    return {g: analyst.seqs(g) for g in games if analyst.seqs(g) != list(range(1, last + 1))}


async def test_a_subscribed_mode_socket_gets_nothing_before_its_subscribe_so_a_resume_from_0_repeats_nothing(
        servers, gateway_process: str, analysts: list[Analyst]) -> None:
    (game_id,) = game_ids(1)
    watcher = await connect(analysts, gateway_process, "client=watcher")  # the default mode: every update
    analyst = await connect(analysts, gateway_process, "client=analyst&mode=subscribed")
    await publish_live(servers, [live(game_id, seq) for seq in (1, 2, 3)])
    await watcher.wait_for(lambda a: a.seqs(game_id) == [1, 2, 3], "the gateway to push seq 1..3")

    await analyst.send({"op": "subscribe", "games": [game_id], "since": {game_id: 0}})
    await publish_live(servers, [live(game_id, 4)])
    await analyst.wait_for(lambda a: 4 in a.seqs(game_id), "seq 4")
    assert analyst.seqs(game_id) == [1, 2, 3, 4]  # before the fix: [1, 2, 3, 1, 2, 3, 4]
    snapshot = analyst.of_type("snapshot")[0]
    assert (snapshot["seq"], snapshot["recovered"]) == (0, True)
    assert [f["type"] for f in analyst.frames[:2]] == ["hello", "snapshot"]


async def test_an_unknown_mode_is_refused_before_the_upgrade(gateway_process: str) -> None:
    with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
        await Analyst.connect(gateway_process, "client=analyst&mode=firehose")
    assert refused.value.status == 400


async def test_chunks_and_repeated_subscriptions_between_live_updates_miss_and_repeat_nothing(
        servers, gateway_process: str, analysts: list[Analyst]) -> None:
    games = game_ids(20)
    sport = f"sport{uuid.uuid4().hex[:6]}"
    await publish_games(servers, [game(g, sport) for g in games[15:]])
    watcher = await connect(analysts, gateway_process, "client=watcher")

    async def publish_round(seq: int) -> None:
        await publish_live(servers, [live(g, seq) for g in games])
        await watcher.wait_for(lambda a: all(a.seqs(g)[-1:] == [seq] for g in games), f"round {seq} pushed")

    analyst = await connect(analysts, gateway_process, "client=analyst&mode=subscribed")
    await publish_round(1)
    await analyst.send({"op": "subscribe", "games": games[:10], "since": dict.fromkeys(games[:10], 0)})
    await publish_round(2)
    await analyst.send({"op": "subscribe", "games": games[10:15], "since": dict.fromkeys(games[10:15], 0)})
    await publish_round(3)
    # Games the socket already receives, named again with an old since, and a sport over games it
    # does not receive yet beside ones it does: only the new games are replayed.
    await analyst.send({"op": "subscribe", "games": games[5:18], "since": dict.fromkeys(games[5:18], 0)})
    await publish_round(4)
    await analyst.send({"op": "subscribe", "sports": [sport], "since": dict.fromkeys(games[15:], 0)})
    await publish_round(5)
    await analyst.wait_for(lambda a: all(a.seqs(g)[-1:] == [5] for g in games), "round 5 at the analyst")

    assert exactly_once_in_order(analyst, games, 5) == {}
    snapshot_seqs = {g: [s["seq"] for s in analyst.of_type("snapshot") if s["gameId"] == g] for g in games}
    expected = {g: [0] for g in games[:5] + games[18:]} | {g: [0, 3] for g in games[5:15]} | {
        g: [0, 4] for g in games[15:18]}
    assert snapshot_seqs == expected
    assert all(s["recovered"] and s["markets"] == [] for s in analyst.of_type("snapshot"))


async def test_analysts_subscribing_in_chunks_while_updates_stream_each_get_every_update_once_in_order(
        servers, gateway_process: str, analysts: list[Analyst]) -> None:
    """No waiting between ops and updates: the timing is whatever it turns out to be."""
    games = game_ids(30)
    rounds = 40
    watcher = await connect(analysts, gateway_process, "client=watcher")
    racers: list[Analyst] = []

    async def stream() -> None:
        for seq in range(1, rounds + 1):
            await publish_live(servers, [live(g, seq) for g in games])

    async def analyst_joins(n: int) -> None:
        analyst = await Analyst.connect(gateway_process, f"client=racer-{n}&mode=subscribed")
        analysts.append(analyst)
        racers.append(analyst)
        for chunk in (games[:10], games[10:20], games[20:], games[::3]):
            await analyst.send({"op": "subscribe", "games": chunk, "since": dict.fromkeys(chunk, 0)})

    streaming = asyncio.create_task(stream())
    for n in range(8):
        await analyst_joins(n)
        await watcher.wait_for(lambda a, n=n: any(len(a.seqs(g)) > 4 * n for g in games), "the stream to move on")
    await streaming
    for analyst in racers:
        await analyst.wait_for(lambda a: all(a.seqs(g)[-1:] == [rounds] for g in games), "every update",
                               timeout=60)
        assert exactly_once_in_order(analyst, games, rounds) == {}
